"""Customer files (客户信息资料表): the customer with its phones (the screen-pop index), the corporate or
individual profile, visits, service history, times not suitable for contact, the log of grade / credit /
confidentiality changes (客户信用度变更表) and bulk import jobs.

May import: core's kernel (db, clock, errors, phone, tabular, i18n, audit, security, people, web) and,
lazily, ``core.access`` for borrowing grants. Nothing else of ours.
"""
