/// Prompt formats for chat models.
public enum ChatTemplate {
    /// The system message that SmolLM2-Instruct's template inserts when a conversation does not start with
    /// one (from the `tokenizer.chat_template` metadata of its GGUF file).
    public static let smolLM2DefaultSystemPrompt =
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// Renders messages in ChatML as SmolLM2-Instruct's chat template does: each message becomes
    /// `<|im_start|>role\ncontent<|im_end|>\n`, and `<|im_start|>assistant\n` follows when
    /// `addGenerationPrompt` is true.
    ///
    /// When the first message's role is not `system`, a system message with `smolLM2DefaultSystemPrompt`
    /// comes first. An empty conversation renders as the generation prompt alone (or as nothing).
    /// Contents are inserted verbatim, so text such as `<|im_end|>` inside a message becomes a control token
    /// when the result is encoded with special-token parsing.
    public static func chatML(messages: [(role: String, content: String)], addGenerationPrompt: Bool) -> String {
        var prompt = ""
        if let first = messages.first, first.role != "system" {
            appendMessage(role: "system", content: smolLM2DefaultSystemPrompt, to: &prompt)
        }
        for message in messages {
            appendMessage(role: message.role, content: message.content, to: &prompt)
        }
        if addGenerationPrompt {
            prompt += "<|im_start|>assistant\n"
        }
        return prompt
    }

    private static func appendMessage(role: String, content: String, to prompt: inout String) {
        prompt += "<|im_start|>" + role + "\n" + content + "<|im_end|>\n"
    }
}
