"""The call center's equipment list (呼叫中心设备明细表): headsets, phones, computers, servers, gateways,
who uses them and where they stand (in use, spare, in repair, retired)."""
