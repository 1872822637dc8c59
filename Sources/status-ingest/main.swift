print("status-ingest")
