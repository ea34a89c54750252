"""The paper forms of calls: inbound and outbound call records, the phone log and phone interview plans
(呼入记录表, 呼出记录表, 电话记录表, 电话访谈计划表), who may see them, and their export."""
