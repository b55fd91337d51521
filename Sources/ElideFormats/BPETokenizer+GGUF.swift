// MARK: - Loading from a GGUF file

extension BPETokenizer {
    /// Builds the tokenizer described by a GGUF file's `tokenizer.*` metadata.
    ///
    /// Reads `tokenizer.ggml.model` (must be `gpt2`), `pre`, `tokens`, `merges`, and, when present,
    /// `token_type`, `bos_token_id`, `eos_token_id`, `padding_token_id`, `unknown_token_id` and
    /// `add_bos_token` (false when absent).
    ///
    /// - Note: llama.cpp falls back to id 11 for a missing BOS or EOS id of a `gpt2` tokenizer; here a
    ///   missing id stays nil.
    /// - Throws: `BPETokenizerError` naming the file and the missing or invalid key.
    public convenience init(gguf: GGUFFile) throws(BPETokenizerError) {
        let metadata = gguf.metadata
        let file = gguf.path

        func string(_ key: String) throws(BPETokenizerError) -> String {
            guard let value = metadata[key]?.stringValue else {
                throw .missingMetadata(key: key, expected: "a string", file: file)
            }
            return value
        }
        func stringArray(_ key: String) throws(BPETokenizerError) -> [String] {
            guard let value = metadata[key]?.stringArray else {
                throw .missingMetadata(key: key, expected: "an array of strings", file: file)
            }
            return value
        }
        func optionalInt(_ key: String) throws(BPETokenizerError) -> Int? {
            guard let value = metadata[key] else { return nil }
            guard let integer = value.intValue else {
                throw .missingMetadata(key: key, expected: "an integer", file: file)
            }
            return integer
        }

        let model = try string("tokenizer.ggml.model")
        guard model == "gpt2" else { throw .unsupportedModel(name: model, file: file) }

        var tokenTypes: [Int] = []
        if let value = metadata["tokenizer.ggml.token_type"] {
            guard let types = value.intArray else {
                throw .missingMetadata(key: "tokenizer.ggml.token_type", expected: "an array of integers", file: file)
            }
            tokenTypes = types
        }
        var addBOS = false
        if let value = metadata["tokenizer.ggml.add_bos_token"] {
            guard let flag = value.boolValue else {
                throw .missingMetadata(key: "tokenizer.ggml.add_bos_token", expected: "a bool", file: file)
            }
            addBOS = flag
        }

        try self.init(
            tokens: try stringArray("tokenizer.ggml.tokens"),
            merges: try stringArray("tokenizer.ggml.merges"),
            tokenTypes: tokenTypes,
            bosID: try optionalInt("tokenizer.ggml.bos_token_id"),
            eosID: try optionalInt("tokenizer.ggml.eos_token_id"),
            paddingID: try optionalInt("tokenizer.ggml.padding_token_id"),
            unknownID: try optionalInt("tokenizer.ggml.unknown_token_id"),
            preTokenizer: try string("tokenizer.ggml.pre"),
            addBOS: addBOS
        )
    }
}
