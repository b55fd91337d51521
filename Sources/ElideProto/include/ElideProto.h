#ifndef ELIDE_PROTO_H
#define ELIDE_PROTO_H
// Umbrella header for the protoc-c output checked in beside it.
#endif
