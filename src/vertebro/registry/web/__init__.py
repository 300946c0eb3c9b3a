"""The coordinators' web app: server-rendered pages over the registry's services and selectors.

Views stay thin: they check access (``permissions``), validate with forms (``forms``), write through
``registry.services`` and read through ``registry.selectors``.
"""
