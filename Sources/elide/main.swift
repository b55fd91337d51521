print("elide: not built yet")
