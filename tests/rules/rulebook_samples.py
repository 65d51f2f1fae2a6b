"""Sample rule files shared by the rule-language tests."""

from __future__ import annotations

GOOD = """\
ruleset: petitions
rules:
  - id: collective-petition
    title: 集体访
    record: petition
    where:
      people: {gte: 5}
      at: {gte: "2026-01-01T00:00:00+08:00"}
    levels:
      - {level: yellow}
      - {level: orange, when: {people: {gte: 50}}}
      - {level: red, when: {people: {gte: 300}}}
    group_by: [street]
    summary: "{people} 人集体访：{subject}"
  - id: noise-spike
    record: hotline
    where: {category: {eq: noise}, descriptor: {matches: ".*噪音.*"}}
    window: {within: 24h, by: [community], aggregate: count}
    levels:
      - {level: blue, when: {count: {gte: 10}}}
      - {level: yellow, when: {count: {gte: 30}, periods: {contains: spring-festival-run-up}}}
    summary: "{count} 次噪音投诉"
tests:
  - name: five people is a collective petition
    records:
      - {kind: petition, at: "2026-01-05T09:00:00+08:00", region: "510104001001", people: 5, subject: 征地}
    expect:
      - {rule: collective-petition, level: yellow}
"""
"""Two valid rules; ``collective-petition``'s id is on line 3."""
