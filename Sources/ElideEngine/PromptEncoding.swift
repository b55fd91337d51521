import ElideFormats

/// Turns prompt text into the token ids generation starts from, the same way for `elide generate` and the
/// `inference` job: optionally wrapped as a ChatML user message, with the tokenizer's BOS id when its GGUF
/// metadata requires one.
public enum PromptEncoding {
    /// Returns the prompt's token ids; empty when the text produces none.
    public static func tokens(of text: String, chat: Bool, tokenizer: BPETokenizer) -> [Int] {
        let wrapped =
            chat ? ChatTemplate.chatML(messages: [(role: "user", content: text)], addGenerationPrompt: true) : text
        var tokens = tokenizer.encode(wrapped, parseSpecial: chat)
        if tokenizer.addBOS, let bos = tokenizer.bosID { tokens.insert(bos, at: 0) }
        return tokens
    }

    /// Returns the ids that end a generation: end of sequence, and `<|im_end|>` for chat prompts.
    public static func stopTokens(chat: Bool, tokenizer: BPETokenizer) -> Set<Int> {
        var stops: Set<Int> = []
        if let eos = tokenizer.eosID { stops.insert(eos) }
        if chat, let end = tokenizer.encode("<|im_end|>", parseSpecial: true).first { stops.insert(end) }
        return stops
    }
}
