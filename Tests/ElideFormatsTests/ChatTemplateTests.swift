import Testing

@testable import ElideFormats

/// ChatML rendering, compared with what SmolLM2-Instruct's Jinja template (its GGUF's
/// `tokenizer.chat_template`) renders for the same messages.
@Suite struct ChatTemplateTests {
    static let defaultSystem =
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"

    @Test func userMessageGetsDefaultSystem() {
        let prompt = ChatTemplate.chatML(messages: [(role: "user", content: "Hi")], addGenerationPrompt: true)
        #expect(prompt == Self.defaultSystem + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func givenSystemMessageReplacesDefault() {
        let prompt = ChatTemplate.chatML(
            messages: [(role: "system", content: "S"), (role: "user", content: "Hi")], addGenerationPrompt: false)
        #expect(prompt == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    @Test func multiTurnHasOneSystemMessage() {
        let messages = [(role: "user", content: "a"), (role: "assistant", content: "b"), (role: "user", content: "c")]
        let prompt = ChatTemplate.chatML(messages: messages, addGenerationPrompt: true)
        let expected =
            Self.defaultSystem + "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n"
            + "<|im_start|>user\nc<|im_end|>\n<|im_start|>assistant\n"
        #expect(prompt == expected)
    }

    @Test func emptyConversationRendersPromptOnly() {
        #expect(ChatTemplate.chatML(messages: [], addGenerationPrompt: true) == "<|im_start|>assistant\n")
        #expect(ChatTemplate.chatML(messages: [], addGenerationPrompt: false) == "")
    }

    @Test func defaultPromptMatchesModelTemplate() throws {
        let file = try SmolLM2Assets.openModel()
        let template = try #require(file.metadata["tokenizer.chat_template"]?.stringValue)
        // The template's string literals hold real newline characters.
        #expect(template.contains("'<|im_start|>system\n" + ChatTemplate.smolLM2DefaultSystemPrompt + "<|im_end|>\n'"))
        #expect(template.contains("messages[0]['role'] != 'system'"))
        #expect(template.contains("'<|im_start|>assistant\n'"))
    }

    @Test func chatPromptEncodesControlTokens() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        let prompt = ChatTemplate.chatML(messages: [(role: "user", content: "What is 2+2?")], addGenerationPrompt: true)
        let ids = tokenizer.encode(prompt)

        let imStart = 1
        let imEnd = 2
        #expect(ids.first == imStart)
        #expect(ids.filter { $0 == imStart }.count == 3)
        #expect(ids.filter { $0 == imEnd }.count == 2)
        let generationPrompt = [imStart] + tokenizer.encode("assistant\n")
        #expect(Array(ids.suffix(generationPrompt.count)) == generationPrompt)
        #expect(tokenizer.decode(ids) == prompt)
    }
}
