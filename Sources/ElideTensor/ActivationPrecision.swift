/// How a matrix product treats its float activations.
///
/// `q8` follows llama.cpp's CPU backend: each activation row is rounded once to the block type the
/// weight type pairs with (Q8_1 for Q4_1, Q8_0 for Q4_0 and Q8_0, F16 for F16, BF16 for BF16; F32
/// weights keep F32 activations) and the product runs on those rounded values, with integer dot
/// products for the 8-bit blocks. `f32` keeps the activations in full precision and expands the
/// weights to floats in registers.
public enum ActivationPrecision: String, Sendable, CaseIterable {
    case f32
    case q8
}
