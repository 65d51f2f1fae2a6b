"""The assessment report (社会稳定风险评估报告) as Markdown and as a self-contained HTML page.

The report is built once as plain sections (paragraphs, tables, the risk matrix) and rendered twice.
Every number names where it comes from: ``[E1]`` an evidence item, ``[F1]`` a factor of the register,
and both renderings turn these into links to the rows that hold them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from domain.assessment import DecisionKind, Dimension, Recommendation, RiskLevel
from domain.assessment_scheme import Scheme
from domain.assessment_scoring import missing_evidence
from domain.beijing import BEIJING
from domain.regions import RegionDirectory, tier_of
from integrations.assessment_svg import risk_matrix_svg
from integrations.i18n import N_, _, language, translate
from integrations.labels import deployment_kinds, kind_label, label
from integrations.store.assessment_models import AssessmentEvidenceRow, AssessmentFactorRow
from integrations.store.assessments import AssessmentBundle

_REF = re.compile(r"\[([EF]\d+)\]")
_COMBINE = {"max": N_("最大值"), "sum": N_("总和")}
_ACTION = {"follow-up-note": N_("跟踪记录"), "reopened": N_("重新开启评估"), "decided": N_("集体决策")}
_FOOTER = N_("本报告供集体决策参考；系统只作建议，不对任何人采取措施。")


@dataclass
class Table:
    """A table: header and rows of cell text (cells may hold ``[E1]`` references)."""

    header: list[str]
    rows: list[list[str]]
    anchors: bool = False  # the first cell of each row is a reference to anchor


@dataclass
class Section:
    """A titled part of the report."""

    title: str
    blocks: list[str | Table] = field(default_factory=list)


@dataclass
class Svg:
    """A picture, inlined as is."""

    markup: str


def _money(yuan: float) -> str:
    if yuan >= 1e8:
        return _("¥{hundred_millions} 亿元（{yuan} 元）").format(hundred_millions=f"{yuan / 1e8:,.2f}",
                                                          yuan=f"{yuan:,.0f}")
    return f"¥{yuan:,.0f}"


def _beijing(at: datetime) -> datetime:
    # Stored times are aware UTC; a naive one (built in memory) is UTC too.
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(BEIJING)


def _day(at: datetime | date) -> str:
    """The Beijing day of a time (a date as it is)."""
    return f"{_beijing(at) if isinstance(at, datetime) else at:%Y-%m-%d}"


def _pct(part: int, total: int) -> str:
    return f"{100 * part / total:.1f}%" if total else "–"


def _evidence_numbers(e: AssessmentEvidenceRow) -> str:
    if e.notice_start and e.notice_end:
        days = (e.notice_end - e.notice_start).days + 1
        return _("{start} – {end}（{days} 天）").format(start=e.notice_start, end=e.notice_end, days=days)
    counts = [e.strongly_support, e.support, e.neutral, e.oppose, e.strongly_oppose]
    if any(c is not None for c in counts):
        n = [c or 0 for c in counts]
        total = sum(n)
        return _("非常支持 {a} · 支持 {b} · 中立 {c} · 反对 {d} · 强烈反对 {e}"
                 "（n={n}；反对 {oppose}，强烈反对 {strong}）").format(
            a=n[0], b=n[1], c=n[2], d=n[3], e=n[4], n=total, oppose=_pct(n[3], total), strong=_pct(n[4], total))
    return _("{n} 人参加").format(n=e.participants) if e.participants is not None else ""


def _finding(f: AssessmentFactorRow) -> str:
    rp, ri = f.residual_probability or f.probability, f.residual_impact or f.impact
    scores = f"{f.probability}×{f.impact} → {rp}×{ri}"
    if f.mitigation:
        return _(" [{ref}] {title}（{scores}；防范化解措施：{mitigation}）。").format(
            ref=f.ref, title=f.title, scores=scores, mitigation=f.mitigation)
    return _(" [{ref}] {title}（{scores}）。").format(ref=f.ref, title=f.title, scores=scores)


def build_sections(bundle: AssessmentBundle, *, scheme: Scheme | None = None,
                   names: RegionDirectory | None = None) -> tuple[str, list[Section | Svg]]:
    """The report's title and sections (shared by both renderings)."""
    r, names = bundle.row, names or RegionDirectory()
    score = bundle.score
    inp = bundle.to_input()
    title = _("社会稳定风险评估报告：{title}").format(title=r.title)
    out: list[Section | Svg] = []
    out.append(Section(_("一、评估事项"), [Table(["", ""], [
        [_("决策事项"), r.title], [_("决策主体"), r.body or "–"],
        [_("地区"), _("{path}（{code}，{tier}）").format(path=names.path(r.region), code=r.region,
                                                   tier=label("tier", tier_of(r.region).value))],
        [_("类型"), label("ssra_kind", DecisionKind(r.kind).value)],
        [_("涉及群众"), f"{r.affected_people:,}"], [_("投资"), _money(r.investment_yuan)],
        [_("评估方案"), r.plan or "–"],
        [_("状态"), _("{status}（评估 {id}，方案 {scheme}）").format(
            status=label("assessment_status", r.status), id=r.id, scheme=r.scheme)],
    ])]))
    ev_rows = [[e.ref, label("ssra_evidence", e.kind), e.title, str(e.held_on or ""), _evidence_numbers(e), e.summary,
                e.source] for e in bundle.evidence]
    experts = [_("{name}（{field}，{affiliation}）").format(name=x.name, field=x.field or "—",
                                                        affiliation=x.affiliation or "—") for x in bundle.experts]
    panel = (_("专家组：{n} 人；方案要求 {required} 人。").format(n=len(experts), required=score.panel_required)
             if score else _("专家组：{n} 人。").format(n=len(experts)))
    out.append(Section(_("二、评估依据"), [
        Table([_("编号"), _("类别"), _("名称"), _("日期"), _("数据"), _("摘要"), _("来源")], ev_rows, anchors=True)
        if ev_rows else _("尚未登记任何评估依据。"),
        panel + (_("；").join(experts) if experts else ""),
    ]))
    weights = {d.value: s for d, s in (scheme.dimensions.items() if scheme else [])}
    fs = {s.ref: s for s in score.factors} if score else {}
    rows = []
    for f in bundle.factors:
        s = fs.get(f.ref)
        rp, ri = f.residual_probability or f.probability, f.residual_impact or f.impact
        rows.append([f.ref, f.title + (_(" ⚠ 未达要求") if f.failure else ""),
                     label("ssra_dimension", Dimension(f.dimension).value), str(f.probability), str(f.impact),
                     str(f.probability * f.impact), f"{s.weighted:g}" if s else "–", f.mitigation or "–",
                     f"{rp}×{ri}={rp * ri}", f"{s.residual_weighted:g}" if s else "–", f"{f.people:,}",
                     " ".join(f"[{x}]" for x in f.evidence) or "–"])
    out.append(Section(_("三、风险因素"), [
        Table([_("编号"), _("风险因素"), _("维度"), "P", "I", "P×I", _("加权"), _("防范化解措施"), _("残余 P×I"),
               _("残余加权"), _("涉及人数"), _("依据")], rows, anchors=True)
        if rows else _("尚未登记任何风险因素。"),
        _("P：可能性 1–5，I：影响程度 1–5；加权 = P×I × 维度权重")
        + (_("（{weights}）。").format(weights=_("，").join(f"{label('ssra_dimension', k)} {v.weight:g}"
                                                          for k, v in weights.items()))
           if weights else _("。")),
    ]))
    dims: list[str | Table] = []
    for d in (score.dimensions if score else ()):
        refs = " ".join(f"[{x}]" for x in d.factors)
        fail = (_("未达要求：{refs}。").format(refs=" ".join(f"[{x}]" for x in d.failures)) if d.failures else "")
        how = _COMBINE.get(score.combine if score else "", "")
        head = _("**{dimension}**（权重 {weight}）：").format(dimension=label("ssra_dimension", d.dimension.value),
                                                       weight=f"{d.weight:g}")
        dims.append(head + (_("{refs} 取{how}：防范化解前 {before}，后 {after}。").format(
            refs=refs, how=_(how), before=f"{d.before:g}", after=f"{d.after:g}") + fail
            if d.factors else _("未识别风险因素。"))
                    + "".join(_finding(f) for f in bundle.factors if f.dimension == d.dimension.value))
    out.append(Section(_("四、各维度分析"), dims or [_("尚未评分。")]))
    out.append(Section(_("五、风险矩阵"), []))
    out.append(Svg(risk_matrix_svg(inp.factors, medium=score.cutoff_medium if score else 8,
                                   high=score.cutoff_high if score else 15)))
    out.append(_level_section(bundle, scheme))
    out.append(_decision_section(bundle))
    return title, out


def _level_section(bundle: AssessmentBundle, scheme: Scheme | None) -> Section:
    score = bundle.score
    sec = Section(_("六、风险等级与建议"))
    if score is None:
        missing = missing_evidence(bundle.to_input(), scheme) if scheme else []
        sec.blocks.append(_("尚未评分。") + (_("评分前须补齐：{missing}").format(
            missing=_("；").join(translate(m) for m in missing)) if missing else ""))
        return sec
    top = {s.ref: s for s in score.factors}
    worst_b = max(score.factors, key=lambda s: s.weighted).ref if score.factors else ""
    worst_a = max(score.factors, key=lambda s: s.residual_weighted).ref if score.factors else ""
    how = (_("最高的风险因素 [{ref}] {weighted}").format(ref=worst_b, weighted=f"{top[worst_b].weighted:g}")
           if score.combine == "max" else _("各风险因素加权之和"))
    after = f"{score.score_after:g}" + (f" ([{worst_a}])" if score.combine == "max" else "")
    sec.blocks.append(_("防范化解前综合得分 {before}（{how}）；防范化解后 {after}。分级线：中 ≥ {medium}，高 ≥ {high}；"
                        "按得分 {by_before} → {by_after}。").format(
        before=f"{score.score_before:g}", how=how, after=after, medium=f"{score.cutoff_medium:g}",
        high=f"{score.cutoff_high:g}", by_before=label("ssra_level", score.level_by_score_before.value),
        by_after=label("ssra_level", score.level_by_score_after.value)))
    for fr in score.fired:
        phase = _("防范化解前") if fr.phase == "before" else _("防范化解后")
        sec.blocks.append(_("硬性规则 `{id}`（{phase}）：至少为{level} — {message} ").format(
            id=fr.id, phase=phase, level=label("ssra_level", fr.level.value), message=fr.message)
            + " ".join(f"[{x}]" for x in fr.refs))
    sec.blocks.append(_("**风险等级：防范化解前{before}，防范化解后{after}。**").format(
        before=label("ssra_level", score.level_before.value), after=label("ssra_level", score.level_after.value)))
    sec.blocks.append(_("**建议：{recommendation}。** 由决策主体集体决策。").format(
        recommendation=label("ssra_recommendation", Recommendation(score.recommendation).value)))
    return sec


def _decision_section(bundle: AssessmentBundle) -> Section:
    r = bundle.row
    sec = Section(_("七、决策与跟踪"))
    if r.decision:
        sec.blocks.append(_("{date} 由{who}集体决策：{outcome}。{note}").format(
            date=_day(r.decided_at) if r.decided_at else "–", who=r.decided_by,
            outcome=label("ssra_outcome", r.decision),
            note=r.decision_note or "").strip())
    else:
        sec.blocks.append(_("尚未记录集体决策。"))
    if r.implementation_from:
        kinds: dict[str, int] = {}
        for k in bundle.links:
            kinds[k.kind] = kinds.get(k.kind, 0) + 1
        titles = deployment_kinds()  # read once for every linked kind
        linked = _("，").join(_("预警 {n} 起").format(n=n) if k == "warning" else f"{kind_label(k, titles)} {n}"
                             for k, n in sorted(kinds.items())) or _("无")
        sec.blocks.append(_("自 {date} 起实施。跟踪关联：{linked}。").format(
            date=_day(r.implementation_from), linked=linked))
    if r.reopened_at:
        sec.blocks.append(_("{date} 重新开启评估（跟踪阈值已越过）。").format(date=_day(r.reopened_at)))
    notes = [e for e in bundle.events if e.action in ("follow-up-note", "reopened", "decided")]
    if notes:
        sec.blocks.append(Table([_("时间（北京时间）"), _("人员"), _("事项"), _("说明")], [
            [f"{_beijing(e.at):%Y-%m-%d %H:%M}", e.actor, _(_ACTION[e.action]), e.note] for e in notes]))
    return sec


def _generated(now: datetime | None) -> str:
    return _("烽火于 {when}（北京时间）生成。").format(when=f"{_beijing(now or datetime.now(UTC)):%Y-%m-%d %H:%M}")


def _md_cell(text: str) -> str:
    return _REF.sub(r"[\1](#\1)", text.replace("|", "\\|").replace("\n", " "))


def render_markdown(bundle: AssessmentBundle, *, scheme: Scheme | None = None,
                    names: RegionDirectory | None = None, now: datetime | None = None) -> str:
    """The report as Markdown (GitHub flavour; the risk matrix is inline SVG)."""
    title, sections = build_sections(bundle, scheme=scheme, names=names)
    lines = [f"# {title}", "", f"_{_generated(now)}_", ""]
    for s in sections:
        if isinstance(s, Svg):
            lines += [s.markup, ""]
            continue
        lines += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Table):
                lines.append("| " + " | ".join(b.header) + " |")
                lines.append("|" + "---|" * len(b.header))
                for row in b.rows:
                    cells = [_md_cell(c) for c in row]
                    if b.anchors:
                        cells[0] = f'<a id="{row[0]}"></a>{row[0]}'
                    lines.append("| " + " | ".join(cells) + " |")
            else:
                lines.append(_md_cell(b))
            lines.append("")
    lines.append(f"_{_(_FOOTER)}_")
    return "\n".join(lines) + "\n"


def _html_text(text: str) -> str:
    out = _REF.sub(r'<a href="#\1">\1</a>', html.escape(text))
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", re.sub(r"`(.+?)`", r"<code>\1</code>", out))


_CSS = ("body{font-family:'PingFang SC','Microsoft YaHei',sans-serif;max-width:1100px;margin:2em auto;"
        "padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0;font-size:14px}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}th{background:#f3f3f3}"
        "tr:target{background:#fff6c8}a{color:#1d5fa8}h1{font-size:24px}h2{font-size:19px;margin-top:1.6em}")


def render_html(bundle: AssessmentBundle, *, scheme: Scheme | None = None,
                names: RegionDirectory | None = None, now: datetime | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no scripts)."""
    title, sections = build_sections(bundle, scheme=scheme, names=names)
    body = [f"<h1>{html.escape(title)}</h1>",
            f"<p><em>{html.escape(_generated(now))}</em></p>"]
    for s in sections:
        if isinstance(s, Svg):
            body.append(f'<figure class="risk-matrix">{s.markup}</figure>')
            continue
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, Table):
                rows = []
                for row in b.rows:
                    rid = f' id="{html.escape(row[0])}"' if b.anchors else ""
                    rows.append(f"<tr{rid}>" + "".join(f"<td>{_html_text(c)}</td>" for c in row) + "</tr>")
                head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
            else:
                body.append(f"<p>{_html_text(b)}</p>")
    body.append(f"<p><em>{html.escape(_(_FOOTER))}</em></p>")
    lang = "en" if language() == "en" else "zh-CN"
    return (f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(bundle: AssessmentBundle, out_dir: Path, *, scheme: Scheme | None = None,
                 names: RegionDirectory | None = None, now: datetime | None = None) -> tuple[Path, Path]:
    """Write ``assessment-<id>.html`` and ``.md`` into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"assessment-{bundle.row.id}"
    html_path, md_path = stem.with_suffix(".html"), stem.with_suffix(".md")
    html_path.write_text(render_html(bundle, scheme=scheme, names=names, now=now), encoding="utf-8")
    md_path.write_text(render_markdown(bundle, scheme=scheme, names=names, now=now), encoding="utf-8")
    return html_path, md_path


__all__ = ["RiskLevel", "build_sections", "render_html", "render_markdown", "write_report"]
