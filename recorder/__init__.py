"""The shared vocabulary: taxonomy, the Trace format and store, the Feed protocol, importers, capture and ASR."""
