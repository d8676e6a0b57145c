"""English and Chinese wording, number and date formats, and the phrase table's completeness."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from forecast.reports import glossary, phrases
from forecast.reports.i18n import Locale
from forecast.reports.narrative import MONTHLY_TERMS, RISK_TERMS
from forecast.reports.risk_rules import RISK_RULES
from forecast.reports.rules import MONTHLY_RULES

ALL = {**phrases.PHRASES, **glossary.DEFINITIONS, **glossary.VALUES}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_money_in_english_and_chinese():
    assert Locale().money(1234567.8) == "1,234,568"
    assert Locale(currency="$").money(-1234567.8) == "-$1,234,568"
    assert Locale(currency="$").money(12.345, signed=True) == "+$12"
    # One rule for money: whole units, also for small amounts and zero.
    assert (Locale().money(90.5), Locale().money(0.0), Locale().money(-0.4)) == ("90", "0", "0")
    assert Locale("zh").money(1234567.8) == "1,234,568元"
    assert Locale("zh", unit="wan").money(1234567.8) == "123.46万元"
    assert Locale("zh", currency="¥", unit="wan").money(-1234567.8) == "-¥123.46万"
    # 万元 is a Chinese convention: an English report keeps whole amounts.
    assert Locale("en", unit="wan").money(1234567.8) == "1,234,568"
    assert Locale("zh").money(None) == "—"


def test_percentages_points_and_compact_axis_labels():
    loc, zh = Locale(), Locale("zh")
    assert (loc.pct(0.1234), loc.pct(0.1234, signed=True), loc.pct(-0.05, digits=0)) == (
        "12.3%", "+12.3%", "-5%")
    assert (loc.points(0.031), zh.points(-0.031)) == ("+3.1 pts", "-3.1个百分点")
    assert (loc.compact(1234567), loc.compact(-2500), loc.compact(12)) == ("1.23M", "-2.5k", "12")
    assert (zh.compact(1234567), zh.compact(123456789), zh.compact(6650)) == (
        "123万", "1.23亿", "6,650")


def test_dates():
    assert (Locale().month("2026-10-01"), Locale("zh").month("2026-10-01")) == (
        "October 2026", "2026年10月")
    assert (Locale().day("2026-10-31"), Locale("zh").day("2026-10-31")) == (
        "31 Oct 2026", "2026年10月31日")


def test_canonical_values_translate_and_data_values_stay():
    zh = Locale("zh")
    assert [zh.member(v) for v in ("online", "key account", "won", "high", "North")] == [
        "线上", "大客户", "赢单", "高", "North"]
    assert Locale().member("online") == "online"


@pytest.mark.parametrize(("reason", "chinese"), [
    ("no order for 79 days, 9.2x the usual interval", "已79天未下单，为通常间隔的9.2倍"),
    ("satisfaction fell from 6.6 to 4.0", "满意度由6.6降至4.0"),
    ("orders in the last 90 days fell 35% vs the 90 days before", "近90天订单数较前90天下降35%"),
    ("bought 1 product line(s) in the last 90 days vs 3 before", "近90天购买1条产品线，此前为3条"),
    ("revenue 90d is 0, typical 66.12", "近90天收入为0，通常为66.12"),
    ("days since survey is #", "距上次调查天数为#"),
    ("channel share online is 0, typical 0.3", "线上渠道占比为0，通常为0.3"),
    ("industry is technology", "行业为科技"),
])
def test_churn_reasons_in_chinese(reason, chinese):
    assert Locale("zh").reason(reason) == chinese
    assert Locale("en").reason(reason) == reason


def _fields(text: str) -> set[str]:
    """The fields a phrase fills in (its ``{n|one|other}`` words agree with a field)."""
    text = re.sub(r"\{\w+\|[^|{}]*\|[^|{}]*\}", "", text)
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_words_agree_with_their_count():
    """Regression: the summary said "1 new customers" and "1 problem(s) found"."""
    en = Locale("en")
    assert en.t("summary_problems", n=en.count(1)).startswith("1 problem found")
    assert en.t("summary_problems", n=en.count(2)).startswith("2 problems found")
    one = en.t("summary_customers", new=en.count(1), new_revenue="5", lost=en.count(1),
               lost_revenue="9")
    assert one.startswith("1 new customer brought 5; 1 customer was lost")
    many = en.t("summary_customers", new=en.count(3), new_revenue="5", lost=en.count(0),
                lost_revenue="9")
    assert many.startswith("3 new customers brought 5; 0 customers were lost")
    assert "{" not in Locale("zh").t("summary_problems", n="1")


def test_every_phrase_has_both_languages_with_the_same_fields():
    for key, (en, zh) in ALL.items():
        assert en and zh, key
        assert _fields(en) == _fields(zh), key
        if en != zh and not key.startswith("v:") and len(en) > 3:
            assert CJK.search(zh), key


def test_every_phrase_the_code_asks_for_exists():
    source = "\n".join(p.read_text(encoding="utf-8") for p in
                       (Path(__file__).parents[2] / "forecast" / "reports").glob("*.py"))
    static = set(re.findall(r'loc\.t\(\s*"([a-z0-9_]+)"', source))
    assert len(static) > 150
    dynamic = {f"{part}_{rule}" for rule in (*MONTHLY_RULES, *RISK_RULES)
               for part in ("rule", "finding", "action")}
    dynamic |= {f"{part}_{term}" for term in (*MONTHLY_TERMS, *RISK_TERMS)
                for part in ("term", "def")}
    dynamic |= {f"level_{lv}" for lv in ("product_line", "segment", "channel", "region", "team",
                                         "rep_id", "customer")}
    dynamic |= {f"effect_{e}" for e in ("volume", "price", "mix", "other")}
    dynamic |= {f"key_rule_{r}" for r in ("tiers", "segment", "top_share")}
    dynamic |= {"target_source_targets", "target_source_implied", "value_source_tiers",
                "value_source_abc", "grouping_accounts", "grouping_channel"}
    dynamic |= {f"m_{m}" for m in ("revenue", "previous", "mom", "year_ago", "yoy", "orders",
                                   "customers", "average_order", "month_target",
                                   "month_attainment", "ytd_revenue", "ytd_prior", "ytd_yoy",
                                   "ytd_target", "ytd_attainment", "ytd_gap", "created", "won",
                                   "won_amount", "lost", "win_rate", "win_rate_previous",
                                   "win_rate_change", "open_opportunities", "open_amount",
                                   "new_customers", "new_revenue", "lost_customers",
                                   "lost_revenue", "weighted_open_amount")}
    assert sorted((static | dynamic) - set(ALL)) == []


def test_missing_phrase_is_a_clear_error():
    with pytest.raises(KeyError, match="no phrase 'nope'"):
        Locale().t("nope")


@pytest.mark.parametrize("reason, chinese", [
    ("no order for 90 days, typical 30", "已90天未下单，通常为30天"),
    ("satisfaction score 3.2, below the typical 7.5", "满意度3.2，低于通常的7.5"),
    ("no satisfaction survey answered for 400 days, typical 60",
     "已400天未回复满意度调查，通常为60天"),
    ("orders every 45 days on average, typical 20", "平均每45天下单一次，通常为20天"),
    ("has bought on only one day so far", "至今仅在一天下过单"),
    ("a customer for only 40 days, typical 600", "成为客户仅40天，通常为600天"),
    ("average order 120, typical 800", "平均订单金额120，通常为800"),
    ("returned 12% of purchase value, typical 1%", "退货金额占购买额12%，通常为1%"),
    ("gross margin 5%, typical 30%", "毛利率5%，通常为30%"),
    ("buys mostly online (80% of revenue)", "主要通过线上渠道购买（占收入80%）"),
    ("no open sales opportunities, typical 1", "无在途商机，通常为1个"),
    ("3 open sales opportunities, typical 1", "在途商机3个，通常为1个"),
    ("in the key account segment, riskier than small", "客户类型为大客户，风险高于小客户"),
    ("in region West, riskier than East", "区域为West，风险高于East"),
])
def test_every_churn_reason_wording_has_a_chinese_sentence(reason, chinese):
    from forecast.reports.glossary import reason_zh

    assert reason_zh(reason) == chinese
