"""Quality assurance: scorecards, sampling rules, evaluations, disputes and calibration.

May import: ``core`` and ``recording``'s read API. (Filled by the QA issue.)
"""
