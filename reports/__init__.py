"""Reports: interval aggregates over the durable call records, every contact-center measure with its
definition, exports and Erlang C staffing.

May import: ``core`` (the shared model and events). Never reads live state. (Filled by the reports issue.)
"""
