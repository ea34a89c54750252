"""Complaints (客户投诉): registration, the handling flow, call-back and summary figures."""
