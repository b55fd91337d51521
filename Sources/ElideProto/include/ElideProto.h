#ifndef ELIDE_PROTO_H
#define ELIDE_PROTO_H
// Umbrella header for the protoc-c output that scripts/generate-proto writes beside it.
#include "elide.pb-c.h"
#include "onnx.pb-c.h"
#endif
