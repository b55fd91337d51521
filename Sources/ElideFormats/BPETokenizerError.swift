/// An error from building a byte-level BPE tokenizer from vocabulary data or from a GGUF file.
public enum BPETokenizerError: Error, Equatable, Sendable {
    /// The vocabulary has no tokens.
    case emptyVocabulary
    /// The token type list is neither empty nor as long as the token list.
    case tokenTypeCountMismatch(tokens: Int, tokenTypes: Int)
    /// A special token id (BOS, EOS, padding, unknown) is not a valid index into the vocabulary.
    case specialTokenOutOfRange(role: String, id: Int, vocabularySize: Int)
    /// The pre-tokenizer name is not one whose split rules are implemented.
    case unsupportedPreTokenizer(name: String, supported: [String])
    /// The GGUF file's `tokenizer.ggml.model` is not `gpt2`, the byte-level BPE that this type implements.
    case unsupportedModel(name: String, file: String)
    /// A metadata key that the tokenizer needs is missing from the GGUF file or has the wrong type.
    case missingMetadata(key: String, expected: String, file: String)
}

extension BPETokenizerError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .emptyVocabulary:
            return "the tokenizer vocabulary is empty; check that the model file has tokenizer.ggml.tokens"
        case .tokenTypeCountMismatch(let tokens, let tokenTypes):
            return "the vocabulary has \(tokens) tokens but \(tokenTypes) token types; "
                + "tokenizer.ggml.token_type must be empty or have one entry per token"
        case .specialTokenOutOfRange(let role, let id, let vocabularySize):
            return "the \(role) token id \(id) is outside the vocabulary (0..<\(vocabularySize)); "
                + "the model file's tokenizer metadata is inconsistent"
        case .unsupportedPreTokenizer(let name, let supported):
            return "pre-tokenizer '\(name)' is not supported; supported names: "
                + supported.joined(separator: ", ")
        case .unsupportedModel(let name, let file):
            return "GGUF file '\(file)': tokenizer model '\(name)' is not supported; "
                + "only 'gpt2' (byte-level BPE) is implemented"
        case .missingMetadata(let key, let expected, let file):
            return "GGUF file '\(file)': metadata key '\(key)' is missing or is not \(expected); "
                + "the file does not carry a usable tokenizer"
        }
    }
}
