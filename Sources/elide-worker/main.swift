print("elide-worker: not built yet")
