"""The steward's queues in the web interface: review pairs, conflicts and approvals, with
roles, domain scopes, bad input and the audit trail."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from sample_records import person

from mdm.core.roles import APPROVER, AUDITOR, DATA_STEWARD
from mdm.golden.models import Contract
from mdm.matching.models import MatchCandidate
from mdm.sources.models import SourceRecord
from mdm.stewardship.models import ChangeRequest, Conflict, ConflictPolicy, StewardScope
from mdm.ui.models import StewardAction

pytestmark = pytest.mark.django_db


@pytest.fixture
def review_pair(crm, erp, ingest):
    """Same name and city, birth dates ten days apart: in the review band (as in
    tests/test_matching.py)."""
    ingest(crm, person("C1", name="李娜", city="上海", birth_date="1990-01-01"))
    ingest(erp, person("E1", name="李娜", city="上海", birth_date="1990-01-11"))
    return MatchCandidate.objects.get()


def login(username, *groups, domains=None):
    user = User.objects.create_user(username, password="pw")
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    if domains:
        StewardScope.objects.create(user=user, domains=domains)
    client = Client()
    client.force_login(user)
    return client


def golden_of(source, key):
    return SourceRecord.objects.get(source__code=source, source_key=key).golden_id


def conflict(domain="customer", severity="low", **fields):
    return Conflict.objects.create(kind=fields.pop("kind", "value_disagreement"), domain=domain,
                                   attribute=fields.pop("attribute", "email"),
                                   severity=severity, status=fields.pop("status", "open"),
                                   **fields)


def text(response):
    return response.content.decode()


# --------------------------------------------------------------- review queue

def test_the_queue_lists_the_pair_and_its_page_explains_the_score(review_pair):
    ana = login("ana", DATA_STEWARD)
    queue = text(ana.get("/review/"))
    assert f"/review/{review_pair.pk}/" in queue and "1 open pair" in queue
    page = text(ana.get(f"/review/{review_pair.pk}/"))
    assert "李娜" in page and "crm" in page and "erp" in page
    assert "1990-01-01" in page and "1990-01-11" in page
    assert "birth_date" in page and "weight-neg" in page and "weight-pos" in page
    assert "Prior" in page and f"{review_pair.weight:.2f}" in page
    assert 'data-key="m"' in page and 'data-key="n"' in page and 'data-key="c"' in page
    assert "<kbd>m</kbd>" in page


def test_merging_from_the_ui_joins_the_records_and_is_audited(review_pair):
    ana = login("ana", DATA_STEWARD)
    response = ana.post(f"/review/{review_pair.pk}/merge/", {"comment": "same passport"})
    assert response.status_code == 302 and response.url == "/review/"  # nothing left
    assert golden_of("crm", "C1") == golden_of("erp", "E1")
    review_pair.refresh_from_db()
    assert (review_pair.status, review_pair.comment) == ("merged", "same passport")
    action = StewardAction.objects.get(action="review.merge")
    assert (action.outcome, action.user.username, action.target) == \
        ("done", "ana", str(review_pair.pk))
    assert "Merged" in text(ana.get(response.url))


def test_not_a_match_goes_on_to_the_next_open_pair(review_pair, crm, erp, ingest):
    ingest(crm, person("C2", name="王芳", city="北京", birth_date="1980-05-01"))
    ingest(erp, person("E2", name="王芳", city="北京", birth_date="1980-05-11"))
    second = MatchCandidate.objects.exclude(pk=review_pair.pk).get()
    first, following = sorted([review_pair, second], key=lambda p: (-p.weight, p.pk))
    ana = login("ana", DATA_STEWARD)
    assert f'href="/review/{following.pk}/" data-key="j"' in text(ana.get(f"/review/{first.pk}/"))
    response = ana.post(f"/review/{first.pk}/not-a-match/")
    assert response.url == f"/review/{following.pk}/"
    first.refresh_from_db()
    assert first.status == "not_a_match"


def test_a_pair_claimed_by_ana_refuses_ben(review_pair):
    ana, ben = login("ana", DATA_STEWARD), login("ben", DATA_STEWARD)
    url = f"/review/{review_pair.pk}/"
    assert "You hold this pair" in text(ana.post(url + "claim/", follow=True))
    assert "Claimed by ana" in text(ben.get(url))
    response = ben.post(url + "merge/", HTTP_REFERER=f"http://testserver{url}", follow=True)
    assert response.status_code == 200 and "claimed by ana" in text(response)
    review_pair.refresh_from_db()
    assert review_pair.status == "open" and golden_of("crm", "C1") != golden_of("erp", "E1")
    refused = StewardAction.objects.get(action="review.merge")
    assert refused.outcome == "refused" and "claimed by ana" in refused.message
    ana.post(url + "release/")
    assert ben.post(url + "merge/").status_code == 302
    assert golden_of("crm", "C1") == golden_of("erp", "E1")


def test_the_auditor_reads_but_cannot_act(review_pair):
    auditor = login("aud", AUDITOR)
    assert f"/review/{review_pair.pk}/" in text(auditor.get("/review/"))
    page = text(auditor.get(f"/review/{review_pair.pk}/"))
    assert "李娜" in page and 'data-key="m"' not in page and "/merge/" not in page
    for suffix in ("merge/", "not-a-match/", "claim/", "release/"):
        assert auditor.post(f"/review/{review_pair.pk}/{suffix}").status_code == 403
    assert MatchCandidate.objects.get().status == "open"
    assert StewardAction.objects.filter(outcome="refused", message="permission denied",
                                        user__username="aud").count() == 4


def test_a_products_steward_does_not_see_customer_pairs(review_pair):
    pat = login("pat", DATA_STEWARD, domains=["product"])
    assert f"/review/{review_pair.pk}/" not in text(pat.get("/review/"))
    assert pat.get(f"/review/{review_pair.pk}/").status_code == 404
    response = pat.post(f"/review/{review_pair.pk}/merge/", follow=True)
    assert "does not exist" in text(response)
    assert MatchCandidate.objects.get().status == "open"


def test_unknown_pairs_and_decided_pairs_give_messages(review_pair):
    ana = login("ana", DATA_STEWARD)
    assert ana.get("/review/999999/").status_code == 404
    assert "does not exist" in text(ana.post("/review/999999/merge/", follow=True))
    ana.post(f"/review/{review_pair.pk}/not-a-match/")
    response = ana.post(f"/review/{review_pair.pk}/merge/", follow=True)
    assert response.status_code == 200 and "already not_a_match" in text(response)
    assert "This pair is decided" in text(ana.get(f"/review/{review_pair.pk}/"))


def test_the_domain_filter_keeps_the_queue_to_one_domain(review_pair):
    ana = login("ana", DATA_STEWARD)
    assert f"/review/{review_pair.pk}/" in text(ana.get("/review/?domain=customer"))
    assert f"/review/{review_pair.pk}/" not in text(ana.get("/review/?domain=product"))


# --------------------------------------------------------------- conflicts

def test_the_conflict_queue_filters_like_the_dashboard_links():
    high = conflict(severity="high")
    low = conflict(severity="low")
    done = conflict(severity="high", status="resolved")
    ana = login("ana", DATA_STEWARD)
    page = text(ana.get("/conflicts/?status=open&severity=high"))
    assert f"/conflicts/{high.pk}/" in page and f"/conflicts/{low.pk}/" not in page
    assert f"/conflicts/{done.pk}/" not in page
    default = text(ana.get("/conflicts/"))  # open ones by default
    assert f"/conflicts/{low.pk}/" in default and f"/conflicts/{done.pk}/" not in default
    assert f"/conflicts/{done.pk}/" in text(ana.get("/conflicts/?status=all"))
    kinds = text(ana.get("/conflicts/?kind=validation_failure"))
    assert f"/conflicts/{high.pk}/" not in kinds


def test_a_products_steward_does_not_see_customer_conflicts():
    customer, product = conflict("customer"), conflict("product", attribute="name")
    pat = login("pat", DATA_STEWARD, domains=["product"])
    page = text(pat.get("/conflicts/"))
    assert f"/conflicts/{product.pk}/" in page and f"/conflicts/{customer.pk}/" not in page
    assert pat.get(f"/conflicts/{customer.pk}/").status_code == 404
    assert "No conflict" in text(pat.post(f"/conflicts/{customer.pk}/resolve/",
                                          {"comment": "x"}, follow=True))
    assert Conflict.objects.get(pk=customer.pk).status == "open"


def test_resolving_needs_a_comment_and_a_known_id():
    item = conflict()
    ana = login("ana", DATA_STEWARD)
    response = ana.post(f"/conflicts/{item.pk}/resolve/", {"comment": "  "}, follow=True)
    assert response.status_code == 200 and "A comment is required" in text(response)
    assert Conflict.objects.get(pk=item.pk).status == "open"
    response = ana.post("/conflicts/999999/resolve/", {"comment": "ok"}, follow=True)
    assert response.status_code == 200 and "No conflict 999999" in text(response)
    assert ana.get("/conflicts/999999/").status_code == 404
    response = ana.post(f"/conflicts/{item.pk}/resolve/", {"comment": "ok", "choice": "7"},
                        follow=True)
    assert "Choose one of the candidate values" in text(response)
    response = ana.post(f"/conflicts/{item.pk}/resolve/", {"comment": "checked by phone"})
    assert response.url == f"/conflicts/{item.pk}/"
    item.refresh_from_db()
    assert item.status == "resolved" and item.resolution["comment"] == "checked by phone"
    assert "already resolved" in text(ana.post(f"/conflicts/{item.pk}/resolve/",
                                               {"comment": "again"}, follow=True))
    outcomes = list(StewardAction.objects.filter(action="conflict.resolve")
                    .order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["refused", "refused", "refused", "done", "refused"]


def test_bulk_resolution_takes_low_and_medium_conflicts_only():
    low, medium, high = conflict(severity="low"), conflict(severity="medium"), \
        conflict(severity="high")
    ana = login("ana", DATA_STEWARD)
    page = text(ana.get("/conflicts/"))
    assert f'name="ids" value="{low.pk}"' in page and f'name="ids" value="{high.pk}"' not in page
    response = ana.post("/conflicts/bulk-resolve/",
                        {"ids": [low.pk, high.pk], "comment": "known noise"}, follow=True)
    assert "low and medium conflicts only" in text(response)
    assert not Conflict.objects.filter(status="resolved").exists()
    assert "A comment is required" in text(ana.post("/conflicts/bulk-resolve/",
                                                    {"ids": [low.pk]}, follow=True))
    response = ana.post("/conflicts/bulk-resolve/",
                        {"ids": [low.pk, medium.pk], "comment": "known noise",
                         "query": "status=open"})
    assert response.url == "/conflicts/?status=open"
    assert set(Conflict.objects.filter(status="resolved").values_list("pk", flat=True)) == \
        {low.pk, medium.pk}
    assert StewardAction.objects.filter(action="conflict.bulk_resolve", outcome="done").exists()


def test_the_auditor_sees_conflicts_without_buttons_and_is_refused():
    item = conflict()
    auditor = login("aud", AUDITOR)
    assert f"/conflicts/{item.pk}/" in text(auditor.get("/conflicts/"))
    assert 'name="ids"' not in text(auditor.get("/conflicts/"))
    page = text(auditor.get(f"/conflicts/{item.pk}/"))
    assert "/resolve/" not in page and "not resolve it" in page
    assert auditor.post(f"/conflicts/{item.pk}/resolve/", {"comment": "x"}).status_code == 403
    assert auditor.post("/conflicts/bulk-resolve/", {"ids": [item.pk],
                                                     "comment": "x"}).status_code == 403
    assert Conflict.objects.get().status == "open"


# --------------------------------------------------------------- blocked value and approvals

def contract(key, amount, at, currency="CNY"):
    return (key, "contract", {"contract_number": "HT-2026-900001", "amount": amount,
                              "currency": currency}, at)


def test_a_blocked_value_is_resolved_by_keeping_one_candidate(crm, erp, ingest):
    ConflictPolicy.objects.create(name="no currency changes", domain="contract",
                                  attribute="currency", severity="medium", handling="block")
    ingest(crm, contract("HT-1", "1,000,000.00", "2026-03-18 16:05:00"))
    ingest(erp, contract("E-HT-1", 1000000.00, "2026-09-30T10:12:45+08:00", currency="USD"))
    item = Conflict.objects.get(attribute="currency")
    ana = login("ana", DATA_STEWARD)
    page = text(ana.get(f"/conflicts/{item.pk}/"))
    assert "USD" in page and "CNY" in page and 'name="choice"' in page
    index = next(i for i, c in enumerate(item.candidates) if c["value"] == "USD")
    ana.post(f"/conflicts/{item.pk}/resolve/", {"comment": "pays in USD", "choice": index})
    golden = Contract.objects.get()
    assert golden.currency == "USD" and golden.lineage["currency"]["rule"] == "pinned"


@pytest.fixture
def amount_request(crm, erp, ingest):
    ConflictPolicy.objects.create(
        name="contract amount change above 10% needs finance approval", domain="contract",
        attribute="amount", condition="relative_change", params={"percent": 10},
        severity="high", handling="approve", approver_group="finance_approver")
    ingest(crm, contract("HT-1", "1,000,000.00", "2026-03-18 16:05:00"))
    ingest(erp, contract("E-HT-1", 1250000.00, "2026-09-30T10:12:45+08:00"))
    return ChangeRequest.objects.get()


def test_approvals_list_pending_first_and_show_the_change(amount_request):
    fin = login("fin", APPROVER, "finance_approver")
    page = text(fin.get("/approvals/"))
    assert f"/approvals/{amount_request.pk}/" in page and "1000000.00" in page
    detail = text(fin.get(f"/approvals/{amount_request.pk}/"))
    assert "1250000.00" in detail and "source erp" in detail and "finance_approver" in detail
    assert "/approve/" in detail and "/reject/" in detail
    conflict_page = text(fin.get(f"/conflicts/{amount_request.conflict_id}/"))
    assert f"/approvals/{amount_request.pk}/" in conflict_page


def test_approval_refuses_the_requester_and_needs_a_comment(amount_request):
    ste = User.objects.create_user("ste")
    ChangeRequest.objects.filter(pk=amount_request.pk).update(requested_by=ste)
    for name in (APPROVER, "finance_approver", DATA_STEWARD):
        ste.groups.add(Group.objects.get_or_create(name=name)[0])
    own = Client()
    own.force_login(ste)
    url = f"/approvals/{amount_request.pk}/"
    response = own.post(url + "approve/", {"comment": "fine"}, HTTP_REFERER=url, follow=True)
    assert "cannot decide on your own change request" in text(response)
    fin = login("fin", APPROVER, "finance_approver")
    assert "A comment is required" in text(fin.post(url + "approve/", {}, follow=True))
    outsider = login("out", APPROVER)
    assert "Only members of" in text(outsider.post(url + "approve/", {"comment": "ok"},
                                                   follow=True))
    assert str(Contract.objects.get().amount) == "1000000.00"
    response = fin.post(url + "approve/", {"comment": "amendment signed"})
    assert response.url == url
    assert str(Contract.objects.get().amount) == "1250000.00"
    page = text(fin.get(url))
    assert "amendment signed" in page and "This change request is decided" in page
    assert "already approved" in text(fin.post(url + "reject/", {"comment": "no"},
                                               follow=True))


def test_a_second_approval_by_the_same_approver_is_refused(amount_request):
    ChangeRequest.objects.filter(pk=amount_request.pk).update(approval_levels=2)
    first = login("a1", APPROVER, "finance_approver")
    url = f"/approvals/{amount_request.pk}/"
    assert "another approver decides" in text(first.post(url + "approve/", {"comment": "ok"},
                                                         follow=True))
    assert "You already approved" in text(first.post(url + "approve/", {"comment": "again"},
                                                     follow=True))
    assert ChangeRequest.objects.get().status == "pending"


def test_the_auditor_and_stewards_cannot_decide_change_requests(amount_request):
    for client in (login("aud", AUDITOR), login("ste", DATA_STEWARD)):
        page = text(client.get(f"/approvals/{amount_request.pk}/"))
        assert "1250000.00" in page and "/approve/" not in page
        assert client.post(f"/approvals/{amount_request.pk}/approve/",
                           {"comment": "ok"}).status_code == 403
    scoped = login("pat", APPROVER, "finance_approver", domains=["product"])
    assert f"/approvals/{amount_request.pk}/" not in text(scoped.get("/approvals/"))
    assert scoped.get(f"/approvals/{amount_request.pk}/").status_code == 404
    assert ChangeRequest.objects.get().status == "pending"
