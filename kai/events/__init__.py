"""The live event hub (fan-out across processes) and the stored, numbered event log."""
