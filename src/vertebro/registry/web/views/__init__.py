"""The app's views, one small module per area. They check access, validate, call a service or a
selector, and render."""
