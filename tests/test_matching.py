"""Record linkage end to end: scored matching on ingest, the review queue, the guards
against over-merging, order independence, training and bulk re-match."""

from __future__ import annotations

import random
from itertools import combinations

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient
from sample_records import person

from mdm.core.roles import DATA_STEWARD
from mdm.demo.dataset import build_demo_dataset
from mdm.demo.services import demo_load
from mdm.golden.models import Customer
from mdm.matching.models import MatchCandidate, MatchLabel, MatchRule, RematchRun
from mdm.matching.rematch import rematch_start
from mdm.matching.services import match_candidate_decide, match_rule_for, match_rule_train
from mdm.sources.models import SourceRecord
from mdm.stewardship.models import StewardScope

pytestmark = pytest.mark.django_db


def company(key, **attributes):
    return (key, "customer", {"party_type": "organisation", **attributes})


def golden_of(source, key):
    return SourceRecord.objects.get(source__code=source, source_key=key).golden_id


def groups():
    """The clustering as a set of frozensets of (source, key)."""
    by_golden = {}
    for code, key, golden_id in SourceRecord.objects.values_list("source__code", "source_key",
                                                                 "golden_id"):
        by_golden.setdefault(golden_id, set()).add((code, key))
    return {frozenset(members) for members in by_golden.values()}


# --------------------------------------------------------------- Chinese enterprise data

def test_zhang_wei_in_han_and_pinyin_with_one_mobile_in_two_formats_is_one_customer(
        crm, erp, ingest):
    ingest(crm, person("C1", name="张伟", phones="138-0013-8000", city="北京",
                       birth_date="1985-03-02"))
    ingest(erp, person("E1", name="Zhang Wei", phones="+86 138 0013 8000", city="Beijing"))
    assert golden_of("crm", "C1") == golden_of("erp", "E1")
    assert Customer.objects.filter(status="active").count() == 1


def test_wei_zhang_in_western_order_and_capitals_is_the_same_name(crm, erp, ingest):
    ingest(crm, person("C1", name="张伟", emails="zw@example.com", birth_date="1985-03-02"))
    ingest(erp, person("E1", name="Wei ZHANG", emails="ZW@example.com",
                       birth_date="1985-03-02"))
    assert golden_of("crm", "C1") == golden_of("erp", "E1")


def test_beijing_xingchen_in_both_legal_name_orders_is_one_company(crm, erp, ingest):
    ingest(crm, company("C10", name="北京星辰科技有限公司", credit_code="91110105660905374C",
                        city="北京"))
    ingest(erp, company("E10", name="星辰科技（北京）有限责任公司",
                        credit_code="91110105660905374C"))
    assert golden_of("crm", "C10") == golden_of("erp", "E10")


def test_two_different_zhang_wei_in_one_city_with_different_ids_stay_apart(crm, ingest):
    ingest(crm, person("C1", name="张伟", city="北京", national_id="110105198503021233"),
           person("C2", name="张伟", city="北京", national_id="110108199007153572"))
    assert golden_of("crm", "C1") != golden_of("crm", "C2")
    assert not MatchCandidate.objects.exists()  # not even worth a steward's look


def test_a_company_and_its_branch_with_their_own_credit_codes_stay_apart(crm, ingest):
    ingest(crm, company("C10", name="北京星辰科技有限公司", credit_code="91110105660905374C",
                        city="北京"),
           company("C11", name="北京星辰科技有限公司上海分公司",
                   credit_code="91310115781520462E", city="上海"))
    assert golden_of("crm", "C10") != golden_of("crm", "C11")


def test_the_demo_duplicates_are_found_without_false_merges():
    demo_load(customers=300, products=20, contracts=30, with_users=False)
    dataset = build_demo_dataset(seed=7, customers=300, products=20, contracts=30)
    truth = {pair for pair in dataset.true_pairs("customer")}
    found = set()
    for members in groups():
        customers = [m for m in members if SourceRecord.objects.filter(
            source__code=m[0], source_key=m[1], domain="customer", status="active").exists()]
        found |= {frozenset(pair) for pair in combinations(sorted(customers), 2)}
    true_positives = len(found & truth)
    assert true_positives / len(found) >= 0.99  # precision
    assert true_positives / len(truth) >= 0.85  # recall (quarantined records never match)


# --------------------------------------------------------------- review queue

@pytest.fixture
def review_pair(crm, erp, ingest):
    """Same name and city, birth dates ten days apart, nothing else: worth a steward's
    look, no more."""
    ingest(crm, person("C1", name="李娜", city="上海", birth_date="1990-01-01"))
    ingest(erp, person("E1", name="李娜", city="上海", birth_date="1990-01-11"))
    return MatchCandidate.objects.get()


def stewards(*names, domains=None):
    clients = []
    for name in names:
        user = User.objects.create_user(name, password="pw")
        user.groups.add(Group.objects.get(name=DATA_STEWARD))
        if domains:
            StewardScope.objects.create(user=user, domains=domains)
        client = APIClient()
        client.force_authenticate(user)
        clients.append(client)
    return clients


def test_a_review_band_pair_is_queued_with_a_readable_breakdown(review_pair):
    assert golden_of("crm", "C1") != golden_of("erp", "E1")
    rule = match_rule_for("customer")
    assert rule.review_weight <= review_pair.weight < rule.auto_merge_weight
    (ana,) = stewards("ana")
    body = ana.get("/api/v1/match-candidates/?domain=customer").json()
    assert body["count"] == 1
    pair = body["results"][0]
    by_name = {c["comparison"]: c for c in pair["breakdown"]}
    assert by_name["city"]["weight"] > 0 > by_name["birth_date"]["weight"]
    assert by_name["email"]["level"] is None and by_name["email"]["weight"] == 0
    total = sum(c["weight"] for c in pair["breakdown"])
    assert total == pytest.approx(pair["weight"], abs=0.01)
    assert {pair["record_a"]["source"], pair["record_b"]["source"]} == {"crm", "erp"}
    assert pair["record_a"]["attributes"]["name"] == "李娜"


def test_a_claimed_pair_is_not_taken_by_another_steward(review_pair):
    ana, ben = stewards("ana", "ben")
    url = f"/api/v1/match-candidates/{review_pair.pk}/"
    assert ana.post(url + "claim/").json()["claimed_by"] == "ana"
    response = ben.post(url + "decision/", {"decision": "merge"}, format="json")
    assert response.status_code == 409 and "claimed by ana" in response.json()["error"]["message"]
    assert ana.post(url + "release/").status_code == 200
    assert ben.post(url + "decision/", {"decision": "merge"}, format="json").status_code == 200


def test_merge_from_the_queue_joins_the_golden_records_and_is_a_training_label(review_pair):
    (ana,) = stewards("ana")
    response = ana.post(f"/api/v1/match-candidates/{review_pair.pk}/decision/",
                        {"decision": "merge", "comment": "same passport on file"},
                        format="json")
    assert response.status_code == 200 and response.json()["status"] == "merged"
    assert golden_of("crm", "C1") == golden_of("erp", "E1")
    label = MatchLabel.objects.get()
    assert label.is_match and label.levels["person_name"] == 4
    assert ana.get("/api/v1/match-candidates/").json()["count"] == 0


def test_a_pair_whose_customers_a_steward_merged_directly_leaves_the_queue(review_pair):
    (ana,) = stewards("ana")
    ids = [str(golden_of("crm", "C1")), str(golden_of("erp", "E1"))]
    response = ana.post("/api/v1/golden/customer/merge/", {"ids": ids, "reason": "same person"},
                        format="json")
    assert response.status_code == 200, response.content
    review_pair.refresh_from_db()
    assert review_pair.status == "merged" and review_pair.decided_by.username == "ana"
    assert ana.get("/api/v1/match-candidates/?status=open").json()["count"] == 0
    assert ana.get("/api/v1/match-candidates/?status=merged").json()["count"] == 1
    assert not MatchLabel.objects.exists()  # not a review decision, so no training label


def test_not_a_match_is_remembered_until_a_record_changes_materially(review_pair, crm, erp,
                                                                     ingest):
    (ana,) = stewards("ana")
    ana.post(f"/api/v1/match-candidates/{review_pair.pk}/decision/",
             {"decision": "not_a_match"}, format="json")
    assert not MatchLabel.objects.get().is_match
    ingest(crm, person("C1", name="李娜", city="上海", birth_date="1990-01-01",
                       segment="vip"))  # not compared: not material
    assert MatchCandidate.objects.get().status == "not_a_match"
    ingest(erp, person("E1", name="李娜", city="上海", birth_date="1990-01-11",
                       addresses="淮海中路 1 号"))  # a new address: material
    assert MatchCandidate.objects.get().status == "open"


def test_bad_decisions_are_answered_with_field_errors(review_pair):
    (ana,) = stewards("ana")
    url = f"/api/v1/match-candidates/{review_pair.pk}/decision/"
    response = ana.post(url, {"decision": "maybe"}, format="json")
    assert response.status_code == 400 and "decision" in response.json()["error"]["fields"]
    assert ana.post("/api/v1/match-candidates/999999/decision/", {"decision": "merge"},
                    format="json").status_code == 404
    ana.post(url, {"decision": "not_a_match"}, format="json")
    assert ana.post(url, {"decision": "merge"}, format="json").status_code == 409


def test_stewards_see_and_decide_only_their_domains(review_pair):
    (products_only,) = stewards("pat", domains=["product"])
    assert products_only.get("/api/v1/match-candidates/").json()["count"] == 0
    response = products_only.post(f"/api/v1/match-candidates/{review_pair.pk}/decision/",
                                  {"decision": "merge"}, format="json")
    assert response.status_code == 403


# --------------------------------------------------------------- over-merge guards

def test_a_cluster_larger_than_the_limit_goes_to_review(crm, ingest):
    rule = match_rule_for("customer")
    rule.max_cluster_size = 2
    rule.save()
    ingest(crm, person("C1", name="王芳", national_id="110105198503021233"),
           person("C2", name="王芳", national_id="110105198503021233"))
    ingest(crm, person("C3", name="王芳", national_id="110105198503021233"))
    assert golden_of("crm", "C1") == golden_of("crm", "C2") != golden_of("crm", "C3")
    reasons = set(MatchCandidate.objects.values_list("reason", flat=True))
    assert any("limit 2" in r for r in reasons)


def test_one_weak_link_does_not_chain_two_established_customers(crm, erp, ingest):
    # two customers of two records each, then a record that fits both only moderately
    ingest(crm, person("C1", name="刘洋", phones="13800000001", birth_date="1980-01-01"),
           person("C2", name="刘洋", phones="13800000001", birth_date="1980-01-01"),
           person("C3", name="刘洋", phones="13800000002", birth_date="1991-05-05"),
           person("C4", name="刘洋", phones="13800000002", birth_date="1991-05-05"))
    assert golden_of("crm", "C1") != golden_of("crm", "C3")
    ingest(erp, person("E1", name="刘洋", phones=["13800000001", "13800000002"]))
    assert golden_of("crm", "C1") != golden_of("crm", "C3")
    assert any("bridge" in r for r in MatchCandidate.objects.values_list("reason", flat=True))


# --------------------------------------------------------------- arrival order

PEOPLE = [
    person("A1", name="陈静", phones="13911112222", birth_date="1988-08-08", city="杭州"),
    person("A2", name="Chen Jing", phones="+86 139 1111 2222", city="Hangzhou"),
    person("A3", name="陈静", emails="cj@example.com", birth_date="1988-08-08", city="杭州"),
    person("A4", name="陈静", emails="cj@example.com", phones="13911112222"),
    person("B1", name="陈静", national_id="330106199201011234", city="杭州",
           birth_date="1992-01-01"),
    person("B2", name="Chen Jing", national_id="330106199201011234"),
    person("D1", name="赵磊", phones="13755556666", birth_date="1979-12-12"),
    person("D2", name="赵磊", phones="137-5555-6666", birth_date="1979-12-12"),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_records_one_at_a_time_in_any_order_end_in_the_bulk_clusters(crm, ingest, seed):
    ingest(crm, *PEOPLE)
    bulk = groups()
    SourceRecord.objects.all().delete()
    Customer.objects.all().delete()
    from mdm.matching.models import BlockingKey

    BlockingKey.objects.all().delete()
    MatchCandidate.objects.all().delete()
    shuffled = PEOPLE[:]
    random.Random(seed).shuffle(shuffled)
    for record in shuffled:
        ingest(crm, record)
    assert groups() == bulk
    assert {frozenset({("crm", "A1"), ("crm", "A2"), ("crm", "A3"), ("crm", "A4")}),
            frozenset({("crm", "D1"), ("crm", "D2")})} <= bulk


# --------------------------------------------------------------- rules, training

def test_rule_changes_are_new_versions_and_bad_rules_are_refused():
    rule = match_rule_for("customer")
    assert rule.version == 1
    rule.auto_merge_weight = 12
    rule.save()
    assert rule.version == 2 and rule.history.count() == 2
    rule.comparisons = [*rule.comparisons, {"name": "x", "attribute": "shoe_size",
                                             "method": "fuzzy"}]
    rule.review_weight = 20
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "shoe_size" in str(error.value) and "fuzzy" in str(error.value)
    assert "review ≤ auto-merge ≤ bridge" in str(error.value)


def test_ecm_estimates_m_and_u_from_the_data_as_a_new_rule_version():
    demo_load(customers=300, products=20, contracts=30, with_users=False)
    before = match_rule_for("customer")
    rule = match_rule_train(domain="customer", method="ecm")
    assert rule.version == before.version + 1 and rule.trained_on.startswith("ECM on ")
    m, u = rule.parameters["m"], rule.parameters["u"]
    assert m["phone"][1] > u["phone"][1] and m["person_name"][-1] > u["person_name"][-1]
    assert 0 < rule.parameters["prior"] < 1
    rule.full_clean()


def test_logistic_regression_needs_enough_decisions_of_both_kinds(review_pair):
    ana = User.objects.create_user("ana")
    match_candidate_decide(candidate_id=review_pair.pk, decision="not_a_match", actor=ana)
    from mdm.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="at least 20"):
        match_rule_train(domain="customer", method="labels")
    levels = {"person_name": 4, "email": 1, "phone": None}
    MatchLabel.objects.bulk_create(
        [MatchLabel(domain="customer", record_a_id=i, record_b_id=i + 1, levels=levels,
                    is_match=True, rule_version=1) for i in range(25)]
        + [MatchLabel(domain="customer", record_a_id=i, record_b_id=i + 1,
                      levels={"person_name": 0, "email": 0}, is_match=False, rule_version=1)
           for i in range(25)])
    rule = match_rule_train(domain="customer", method="labels")
    assert rule.classifier == "logistic_regression"
    assert rule.parameters["coefficients"]["person_name"][4] > \
        rule.parameters["coefficients"]["person_name"][0]


# --------------------------------------------------------------- bulk re-match

def test_rematch_dry_run_reports_and_a_real_run_applies(crm, ingest, steward, eager_tasks,
                                                        django_capture_on_commit_callbacks):
    ingest(crm, person("C1", name="周杰", emails="zj@example.com", birth_date="1979-01-18"),
           person("C2", name="周杰", emails="zj@example.com", birth_date="1979-01-18"))
    assert golden_of("crm", "C1") == golden_of("crm", "C2")
    rule = MatchRule.objects.get(domain="customer")
    rule.auto_merge_weight, rule.bridge_weight = 60, 60  # now nothing is strong enough
    rule.save()
    client = APIClient()
    client.force_authenticate(steward)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/matching/rematch/", {"domain": "customer"},
                               format="json")
    assert response.status_code == 202
    run = client.get(f"/api/v1/matching/rematch/{response.json()['id']}/").json()
    assert run["status"] == "done" and run["dry_run"] and run["report"]["would_split"] == 1
    assert golden_of("crm", "C1") == golden_of("crm", "C2")  # a dry run changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        applied = rematch_start(domain="customer", dry_run=False, partitions=2)
    applied.refresh_from_db()
    assert applied.status == RematchRun.Status.DONE, applied.error
    assert golden_of("crm", "C1") != golden_of("crm", "C2")
    assert MatchCandidate.objects.filter(status="open").count() == 1  # now for review


def test_rematch_refuses_bad_input(steward):
    client = APIClient()
    client.force_authenticate(steward)
    response = client.post("/api/v1/matching/rematch/", {"domain": "planet", "partitions": 0},
                           format="json")
    assert response.status_code == 400
    assert {"domain", "partitions"} <= set(response.json()["error"]["fields"])
