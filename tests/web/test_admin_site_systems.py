"""The admin shows a site's MRN systems read-only; they are changed with `vertebro site set` only."""

from django.urls import reverse

from vertebro.registry.models import SiteMrnSystem
from vertebro.registry.services.clinical import site_mrn_systems_set


def test_superuser_sees_the_systems_on_the_site_page_and_cannot_change_them_there(world):
    site_mrn_systems_set(site=world.site_a, systems=["http://hospital-a.example.org", "urn:oid:1.2.3"])
    client = world.client("superuser")
    listing = client.get(reverse("admin:registry_site_changelist")).content.decode()
    assert "http://hospital-a.example.org, urn:oid:1.2.3" in listing
    page = client.get(reverse("admin:registry_site_change", args=[world.site_a.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "urn:oid:1.2.3" in html
    assert 'name="mrn_systems-0-system"' not in html  # shown, not an input
    history = client.get(reverse("admin:registry_sitemrnsystem_history", args=[SiteMrnSystem.objects.first().pk]))
    assert history.status_code == 200
    refused = client.post(reverse("admin:registry_sitemrnsystem_change", args=[SiteMrnSystem.objects.first().pk]), {"system": "urn:oid:9"})
    assert refused.status_code == 405
    assert list(SiteMrnSystem.objects.values_list("system", flat=True)) == ["http://hospital-a.example.org", "urn:oid:1.2.3"]


def test_coordinator_cannot_open_the_admin_systems(world):
    response = world.client("coordinator_a").get(reverse("admin:registry_sitemrnsystem_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
