import Testing

@testable import ElideSupport

private let spec = CommandSpec(
    name: "generate", summary: "Generate text.",
    options: [
        OptionSpec("model", value: "PATH", help: "Model file.", required: true),
        OptionSpec("max-tokens", value: "N", help: "Tokens to generate.", default: "64"),
        OptionSpec("temperature", value: "T", help: "Sampling temperature.", default: "0.8"),
        .flag("json", help: "Print JSON."),
    ])

@Test func parsesValuesFlagsAndDefaults() throws {
    let options = try spec.parse(["--model", "m.gguf", "--json", "--temperature=0"])
    #expect(try options.required("model") == "m.gguf")
    #expect(options.flag("json"))
    #expect(try options.double("temperature") == 0)
    #expect(try options.int("max-tokens") == 64)
}

@Test func unknownOptionSuggestsNearestName() {
    #expect {
        try spec.parse(["--model", "m", "--max-token", "3"])
    } throws: { error in
        (error as? UsageError)?.message.contains("did you mean --max-tokens?") == true
    }
}

@Test func distantUnknownOptionPointsToHelp() {
    #expect {
        try spec.parse(["--model", "m", "--zzzzzzzz"])
    } throws: { error in
        let message = (error as? UsageError)?.message ?? ""
        return message.contains("unknown option --zzzzzzzz") && message.contains("--help")
    }
}

@Test func missingRequiredOptionIsUsageError() {
    #expect {
        try spec.parse(["--json"])
    } throws: { error in
        (error as? UsageError)?.message.contains("missing required option --model") == true
    }
}

@Test func optionWithoutValueIsUsageError() {
    #expect(throws: UsageError.self) { try spec.parse(["--model"]) }
}

@Test func invalidNumberNamesValueAndOption() throws {
    let options = try spec.parse(["--model", "m", "--max-tokens", "ten"])
    #expect {
        try options.int("max-tokens")
    } throws: { error in
        (error as? UsageError)?.message == "invalid value 'ten' for --max-tokens: expected a whole number"
    }
}

@Test func helpListsEveryOptionWithDefault() throws {
    let help = spec.helpText
    #expect(help.contains("--model PATH"))
    #expect(help.contains("(required)"))
    #expect(help.contains("--max-tokens N"))
    #expect(help.contains("(default: 64)"))
    #expect(help.contains("--temperature T"))
    #expect(help.contains("--json"))
    #expect(help.contains("--help"))
    let parsed = try spec.parse(["--help"])
    #expect(parsed.flag("help"))
}

@Test func editDistanceCountsEdits() {
    #expect(editDistance("kitten", "sitting") == 3)
    #expect(editDistance("", "abc") == 3)
    #expect(editDistance("same", "same") == 0)
}
