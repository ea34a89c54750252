"""Reports: interval aggregates over the durable call records, every contact-center measure with its
definition, exports and Erlang C staffing.

reports-core: ``models`` (15-minute and daily aggregates, agent-state spans, the maintainer's watermark),
``aggregates`` (raw records → additive counters, ``rebuild``, ``refresh``, ``AggregateMaintainer``),
``measures`` (codes, labels, formulas, figures from counters), ``queries`` (``summary``,
``summary_from_raw``, ``series``, ``staffing``, ``abandon_curve``), ``erlang``, ``agent_states``
(``AgentStateSubscriber``, ``ingest_agent_states``), ``views`` (HTTP), ``cli`` (``callcenter report``).
reports-ui: ``business``, ``business_views``.

May import: ``core``, and of ``acd`` only the durable call records (``acd.records``: models, the queue_log
parser) and the domain events (``acd.events``). Never reads live state.
"""
