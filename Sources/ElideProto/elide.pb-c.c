// Placeholder until scripts/generate-proto writes the protoc-c output here.
