"""The assessment report (社会稳定风险评估报告) as Markdown and as a self-contained HTML page.

The report is built once as plain sections (paragraphs, tables, the risk matrix) and rendered twice.
Every number names where it comes from: ``[E1]`` an evidence item, ``[F1]`` a factor of the register,
and both renderings turn these into links to the rows that hold them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from domain.assessment import DecisionKind, DecisionOutcome, Dimension, Recommendation, RiskLevel
from domain.assessment_scheme import Scheme
from domain.assessment_scoring import missing_evidence
from domain.regions import RegionDirectory, tier_of
from integrations.assessment_svg import risk_matrix_svg
from integrations.store.assessment_models import AssessmentEvidenceRow, AssessmentFactorRow
from integrations.store.assessments import AssessmentBundle

_REF = re.compile(r"\[([EF]\d+)\]")


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
    return f"¥{yuan / 1e8:,.2f} 亿元 ({yuan:,.0f} yuan)" if yuan >= 1e8 else f"¥{yuan:,.0f}"


def _pct(part: int, total: int) -> str:
    return f"{100 * part / total:.1f}%" if total else "–"


def _evidence_numbers(e: AssessmentEvidenceRow) -> str:
    if e.notice_start and e.notice_end:
        days = (e.notice_end - e.notice_start).days + 1
        return f"{e.notice_start} – {e.notice_end} ({days} days)"
    counts = [e.strongly_support, e.support, e.neutral, e.oppose, e.strongly_oppose]
    if any(c is not None for c in counts):
        n = [c or 0 for c in counts]
        total = sum(n)
        return (f"非常支持 {n[0]} · 支持 {n[1]} · 中立 {n[2]} · 反对 {n[3]} · 强烈反对 {n[4]} "
                f"(n={total}; oppose {_pct(n[3], total)}, strongly oppose {_pct(n[4], total)})")
    return f"{e.participants} participants" if e.participants is not None else ""


def _finding(f: AssessmentFactorRow) -> str:
    rp, ri = f.residual_probability or f.probability, f.residual_impact or f.impact
    return (f" [{f.ref}] {f.title} ({f.probability}×{f.impact} → {rp}×{ri}"
            + (f"; mitigation: {f.mitigation}" if f.mitigation else "") + ").")


def build_sections(bundle: AssessmentBundle, *, scheme: Scheme | None = None,
                   names: RegionDirectory | None = None) -> tuple[str, list[Section | Svg]]:
    """The report's title and sections (shared by both renderings)."""
    r, names = bundle.row, names or RegionDirectory()
    score = bundle.score
    inp = bundle.to_input()
    title = f"社会稳定风险评估报告：{r.title}"
    out: list[Section | Svg] = []
    out.append(Section("一、评估事项 Decision", [Table(["", ""], [
        ["决策事项 title", r.title], ["决策主体 body responsible", r.body or "–"],
        ["地区 region", f"{names.path(r.region)} ({r.region}, {tier_of(r.region).value} level)"],
        ["类型 kind", f"{DecisionKind(r.kind).chinese} ({r.kind})"],
        ["涉及群众 affected people", f"{r.affected_people:,}"], ["投资 investment", _money(r.investment_yuan)],
        ["评估方案 plan", r.plan or "–"], ["状态 status", f"{r.status} (assessment {r.id}, scheme {r.scheme})"],
    ])]))
    ev_rows = [[e.ref, f"{e.kind}", e.title, str(e.held_on or ""), _evidence_numbers(e), e.summary,
                e.source] for e in bundle.evidence]
    experts = [f"{x.name}（{x.field or '—'}，{x.affiliation or '—'}）" for x in bundle.experts]
    need = f"; the scheme requires {score.panel_required}" if score else ""
    out.append(Section("二、评估依据 Evidence", [
        Table(["ref", "kind", "title", "date", "numbers", "summary", "source"], ev_rows, anchors=True)
        if ev_rows else "No evidence recorded yet.",
        f"专家组 Expert panel: {len(experts)} members{need}. " + ("；".join(experts) if experts else ""),
    ]))
    weights = {d.value: s for d, s in (scheme.dimensions.items() if scheme else [])}
    fs = {s.ref: s for s in score.factors} if score else {}
    rows = []
    for f in bundle.factors:
        s = fs.get(f.ref)
        rp, ri = f.residual_probability or f.probability, f.residual_impact or f.impact
        rows.append([f.ref, f.title + (" ⚠ requirement not met" if f.failure else ""),
                     Dimension(f.dimension).chinese, str(f.probability), str(f.impact),
                     str(f.probability * f.impact), f"{s.weighted:g}" if s else "–", f.mitigation or "–",
                     f"{rp}×{ri}={rp * ri}", f"{s.residual_weighted:g}" if s else "–", f"{f.people:,}",
                     " ".join(f"[{x}]" for x in f.evidence) or "–"])
    out.append(Section("三、风险因素 Risk-factor register", [
        Table(["ref", "factor", "dimension", "P", "I", "P×I", "weighted", "mitigation", "residual P×I",
               "residual weighted", "people", "evidence"], rows, anchors=True)
        if rows else "No risk factor registered yet.",
        "P: probability 1–5, I: impact 1–5; weighted = P×I × the dimension's weight"
        + (" (" + ", ".join(f"{k} {v.weight:g}" for k, v in weights.items()) + ")." if weights else "."),
    ]))
    dims: list[str | Table] = []
    for d in (score.dimensions if score else ()):
        refs = " ".join(f"[{x}]" for x in d.factors)
        fail = f" Requirement not met: {' '.join(f'[{x}]' for x in d.failures)}." if d.failures else ""
        dims.append(f"**{d.dimension.chinese} {d.dimension.value}** (weight {d.weight:g}): "
                    + (f"{score.combine if score else ''} of {refs} = {d.before:g} before mitigation, "
                       f"{d.after:g} after.{fail}" if d.factors else "no risk factor identified.")
                    + "".join(_finding(f) for f in bundle.factors if f.dimension == d.dimension.value))
    out.append(Section("四、各维度分析 Findings by dimension", dims or ["Not scored yet."]))
    out.append(Section("五、风险矩阵 Risk matrix", []))
    out.append(Svg(risk_matrix_svg(inp.factors, medium=score.cutoff_medium if score else 8,
                                   high=score.cutoff_high if score else 15)))
    out.append(_level_section(bundle, scheme))
    out.append(_decision_section(bundle))
    return title, out


def _level_section(bundle: AssessmentBundle, scheme: Scheme | None) -> Section:
    score = bundle.score
    sec = Section("六、风险等级与建议 Level and recommendation")
    if score is None:
        missing = missing_evidence(bundle.to_input(), scheme) if scheme else []
        sec.blocks.append("Not scored." + (" Scoring is blocked until: " + "; ".join(missing) if missing else ""))
        return sec
    top = {s.ref: s for s in score.factors}
    worst_b = max(score.factors, key=lambda s: s.weighted).ref if score.factors else ""
    worst_a = max(score.factors, key=lambda s: s.residual_weighted).ref if score.factors else ""
    how = (f"the worst factor, [{worst_b}] {top[worst_b].weighted:g}" if score.combine == "max"
           else "the sum of the weighted factors")
    sec.blocks.append(f"Combined score before mitigation {score.score_before:g} ({how}); after mitigation "
                      f"{score.score_after:g}" + (f" ([{worst_a}])" if score.combine == "max" else "")
                      + f". Cut-offs: medium ≥ {score.cutoff_medium:g}, high ≥ {score.cutoff_high:g}: "
                      f"by score {score.level_by_score_before.value} → {score.level_by_score_after.value}.")
    for fr in score.fired:
        sec.blocks.append(f"Hard rule `{fr.id}` ({fr.phase} mitigation): at least {fr.level.value} — {fr.message} "
                          + " ".join(f"[{x}]" for x in fr.refs))
    sec.blocks.append(f"**风险等级 Level: {score.level_before.chinese} {score.level_before.value} before mitigation, "
                      f"{score.level_after.chinese} {score.level_after.value} after mitigation.**")
    sec.blocks.append(f"**建议 Recommendation: {Recommendation(score.recommendation).chinese} "
                      f"({score.recommendation.value}).** The collective decision belongs to the decision body.")
    return sec


def _decision_section(bundle: AssessmentBundle) -> Section:
    r = bundle.row
    sec = Section("七、决策与跟踪 Decision and follow-up")
    if r.decision:
        sec.blocks.append(f"Collective decision on {r.decided_at:%Y-%m-%d} by {r.decided_by}: "
                          f"{DecisionOutcome(r.decision).chinese} ({r.decision}). {r.decision_note}".strip())
    else:
        sec.blocks.append("No collective decision recorded yet.")
    if r.implementation_from:
        kinds: dict[str, int] = {}
        for k in bundle.links:
            kinds[k.kind] = kinds.get(k.kind, 0) + 1
        linked = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
        sec.blocks.append(f"Implemented from {r.implementation_from:%Y-%m-%d}. Linked by follow-up: {linked}.")
    if r.reopened_at:
        sec.blocks.append(f"Re-opened for re-assessment on {r.reopened_at:%Y-%m-%d} (follow-up threshold crossed).")
    notes = [e for e in bundle.events if e.action in ("follow-up-note", "reopened", "decided")]
    if notes:
        sec.blocks.append(Table(["when", "who", "what", "note"], [
            [f"{e.at:%Y-%m-%d %H:%M}", e.actor, e.action, e.note] for e in notes]))
    return sec


def _md_cell(text: str) -> str:
    return _REF.sub(r"[\1](#\1)", text.replace("|", "\\|").replace("\n", " "))


def render_markdown(bundle: AssessmentBundle, *, scheme: Scheme | None = None,
                    names: RegionDirectory | None = None, now: datetime | None = None) -> str:
    """The report as Markdown (GitHub flavour; the risk matrix is inline SVG)."""
    title, sections = build_sections(bundle, scheme=scheme, names=names)
    lines = [f"# {title}", "", f"_Generated {(now or datetime.now(UTC)):%Y-%m-%d %H:%M %Z} by 烽火 Fenghuo._", ""]
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
    lines.append("_本报告供集体决策参考；系统只作建议，不对任何人采取措施。_")
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
            f"<p><em>Generated {(now or datetime.now(UTC)):%Y-%m-%d %H:%M %Z} by 烽火 Fenghuo.</em></p>"]
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
    body.append("<p><em>本报告供集体决策参考；系统只作建议，不对任何人采取措施。</em></p>")
    return (f'<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
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
