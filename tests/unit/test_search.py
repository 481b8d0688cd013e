"""Finding a matter by everyday words (engine/search.py) in the shipped catalogue: what people
type finds the matter they mean at the top, whatever the word order or the words around
it; nothing found is an empty list; a region sees only its matters; any text is answered."""
from __future__ import annotations

import pytest

from engine.definitions.catalogue import FILE_KEYS, read_catalogue
from engine.search import MAX_QUERY, MatterSearch
from engine.store.models import DEFAULT_REGION, Matter

HAIKOU, SANYA = "460100", "460200"


def matter(entry: dict) -> Matter:
    """A catalogue entry as its ``matter`` row (engine/definitions/catalogue.py upsert_matter)."""
    elements = {key: value for key, value in entry.items() if key not in (*FILE_KEYS, "dmn")}
    return Matter(code=entry["code"], name=entry["name"], department=entry["department"],
                  region=str(entry.get("region", DEFAULT_REGION)), elements=elements)


@pytest.fixture(scope="module")
def shipped() -> MatterSearch:
    return MatterSearch.of_matters([matter(entry) for entry in read_catalogue()])


def codes(index: MatterSearch, query: str, **options) -> list[str]:
    return [hit.code for hit in index.search(query, **options)]


@pytest.mark.parametrize(("query", "expected"), [
    ("老人补贴", "elderly_subsidy"),
    ("长寿金", "elderly_subsidy"),
    ("高龄老人长寿补贴", "elderly_subsidy"),
    ("敬老卡", "senior_card"),
    ("老年证", "senior_card"),
    ("租房备案", "rental_filing"),
    ("房东出租房子要备案吗", "rental_filing"),
    ("卫生许可证", "hygiene_licence"),
    ("开理发店要办卫生证", "hygiene_licence"),
    ("营业执照", "company_registration"),
    ("刻章", "seal_engraving"),
    ("第一次领发票", "invoice_application"),
    ("怎么给员工交社保", "social_insurance_registration"),
    ("公积金开户", "housing_fund_registration"),
    ("领养老金", "resident_pension"),
    ("书店年检", "publication_retail_check"),
    ("交契税", "deed_tax"),
    ("过户", "property_transfer"),
    ("燃气过户", "gas_transfer"),
    ("水表过户", "water_transfer"),
])
def test_everyday_words_find_the_matter_first(shipped, query, expected):
    assert codes(shipped, query)[0] == expected


def test_a_sentence_with_extra_words_finds_the_subsidy_and_says_which_words_matched(shipped):
    [first, *_] = shipped.search("我家老人80岁了能领什么补贴")
    assert first.code == "elderly_subsidy" and first.name == "高龄老人长寿补贴"
    assert (first.department, first.department_name) == ("civil_affairs", "民政局")
    assert {"老人", "补贴"} <= set(first.matched)


def test_word_order_does_not_matter(shipped):
    assert codes(shipped, "补贴老人")[0] == codes(shipped, "老人补贴")[0] == "elderly_subsidy"
    assert codes(shipped, "过户房子")[:2] == codes(shipped, "房子过户")[:2]


def test_old_peoples_subsidy_outranks_the_senior_card(shipped):
    """"老人补贴" is the subsidy; the card (老人卡, also about 老人) may follow, never lead."""
    found = codes(shipped, "老人补贴")
    assert found[0] == "elderly_subsidy" and "senior_card" in found


def test_starting_a_company_finds_the_bundle_and_the_registration(shipped):
    assert set(codes(shipped, "开公司")[:2]) == {"business_startup", "company_registration"}
    assert set(codes(shipped, "我想注册一家公司")[:2]) == {"business_startup", "company_registration"}


def test_selling_a_house_finds_the_transfer_and_its_bundle_before_the_utilities(shipped):
    found = codes(shipped, "房子过户")
    assert set(found[:2]) == {"property_transfer", "property_transfer_bundle"}
    assert found.index("property_transfer") < found.index("water_transfer")


def test_the_matched_words_are_the_querys_own(shipped):
    hit = shipped.search("老人 补贴")[0]
    assert hit.matched == ["老人", "补贴"]
    assert shipped.search("营业执照")[0].matched == ["营业执照"]


def test_codes_find_their_matter(shipped):
    assert codes(shipped, "elderly_subsidy")[0] == "elderly_subsidy"
    assert codes(shipped, "ELDERLY")[0] == "elderly_subsidy"  # a prefix, any case
    assert codes(shipped, "000000000000-0005-0001")[0] == "hygiene_licence"  # 基本编码


@pytest.mark.parametrize("query", ["火星移民签证", "", "   ", "我想怎么办理", "？！。", "🙂🙂", "\x00"])
def test_nothing_found_is_an_empty_list(shipped, query):
    assert shipped.search(query) == []


def test_only_matters_offered_in_the_region(shipped):
    assert set(codes(shipped, "占道")) == {"road_occupation", "road_occupation_sanya"}  # no region: everywhere
    assert codes(shipped, "占道", region=SANYA) == ["road_occupation_sanya"]
    assert codes(shipped, "占道", region=HAIKOU) == ["road_occupation"]
    assert codes(shipped, "老人补贴", region=SANYA)[0] == "elderly_subsidy"  # regions: [460100, 460200]
    assert "company_registration" not in codes(shipped, "开公司", region=SANYA)  # Haikou only
    assert codes(shipped, "开公司", region="110100") == []


def test_the_cart_is_not_a_matter_one_searches_for(shipped):
    assert "cart" not in codes(shipped, "政务超市订单")


def test_limit(shipped):
    assert len(shipped.search("过户", limit=2)) == 2
    assert len(shipped.search("过户", limit=50)) <= len(shipped)


def test_a_name_or_alias_hit_outranks_a_condition_hit():
    entries = [
        Matter(code="a_condition", name="困难群众临时救助", department="civil_affairs", region=HAIKOU,
               elements={"conditions": ["未领取高龄补贴"]}),
        Matter(code="b_name", name="高龄补贴发放", department="civil_affairs", region=HAIKOU, elements={}),
        Matter(code="c_alias", name="老年人生活津贴", department="civil_affairs", region=HAIKOU,
               elements={"aliases": ["高龄补贴"]}),
    ]
    index = MatterSearch.of_matters(entries, departments={})
    found = codes(index, "高龄补贴")
    assert set(found[:2]) == {"b_name", "c_alias"} and "a_condition" not in found[:2]
    assert codes(index, "领取") == ["a_condition"]  # a condition alone still finds its matter


def test_ties_are_ordered_by_code_and_every_search_answers_the_same():
    twins = [Matter(code=code, name="城市道路占用挖掘许可", department="housing", region=HAIKOU, elements={})
             for code in ("z_road", "a_road", "m_road")]
    index = MatterSearch.of_matters(twins, departments={})
    assert codes(index, "挖掘道路") == ["a_road", "m_road", "z_road"]
    assert [index.search("挖掘道路") for _ in range(3)] == [index.search("挖掘道路")] * 3


def test_the_department_name_comes_from_the_catalogue_when_the_matter_has_none():
    plain = [Matter(code="x", name="城市道路占用挖掘许可", department="housing", region=HAIKOU, elements={})]
    [hit] = MatterSearch.of_matters(plain, departments={"housing": "住房和城乡建设局"}).search("挖掘")
    assert hit.department_name == "住房和城乡建设局"


@pytest.mark.parametrize("query", ["老" * MAX_QUERY * 3, "ＡＢＣ老人", "a" * 500, "%' OR 1=1 --", "<script>", "\ud800",
                                   "老\u200b人补贴", "0" * 100, "過戶", "\t\n老人\r补贴"])
def test_any_text_is_answered(shipped, query):
    found = shipped.search(query)
    assert isinstance(found, list) and all(hit.score > 0 for hit in found)


def test_an_odd_catalogue_entry_is_indexed_without_failing():
    """Keys the policy check would refuse (a deploy never lets them through) do not break the index."""
    odd = [Matter(code="odd", name="临时占用城市道路许可", department="housing", region=HAIKOU,
                  elements={"aliases": "占道", "keywords": [1, None, "摆摊"], "materials": ["不是对象"],
                            "regions": ["460200"], "department_name": None})]
    index = MatterSearch.of_matters(odd, departments={})
    assert codes(index, "占道") == ["odd"] and codes(index, "摆摊") == ["odd"]
    assert codes(index, "占道", region=HAIKOU) == ["odd"]  # its home region, whatever regions: says
