print("elide-coordinator: not built yet")
