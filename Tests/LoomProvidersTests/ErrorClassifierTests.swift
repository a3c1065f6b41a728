import LoomEngine
import Testing

@testable import LoomProviders

/// The table in docs/providers.md, row by row.
struct ErrorClassifierTests {
    @Test(arguments: [
        (301, "", ProviderErrorReason.configuration, ProviderErrorClass.permanent, false),
        (307, "", .configuration, .permanent, false),
        (400, "", .badRequest, .permanent, false),
        (400, "deepseek/nope is not a valid model ID", .unknownModel, .permanent, true),
        (401, "", .authentication, .permanent, true),
        (402, "", .badRequest, .permanent, false),
        (403, "", .authentication, .permanent, true),
        (404, "", .unknownModel, .permanent, true),
        (408, "", .network, .transient, false),
        (409, "", .network, .transient, false),
        (413, "", .badRequest, .permanent, false),
        (422, "", .badRequest, .permanent, false),
        (429, "", .rateLimited, .rateLimited, true),
        (500, "", .server, .transient, false),
        (502, "", .server, .transient, false),
        (503, "", .server, .transient, false),
        (504, "", .server, .transient, false),
        (529, "", .server, .transient, false),
        (400, #"{"error":{"code":"context_length_exceeded"}}"#, .contextExceeded, .permanent, true),
        (
            400, "request (3906 tokens) exceeds the available context size (2048 tokens)", .contextExceeded, .permanent,
            true
        ),
        (413, "prompt is too long: 215344 tokens > 200000 maximum", .contextExceeded, .permanent, true),
        (500, "Requested tokens (3906) exceed context window of 2048", .contextExceeded, .permanent, true),
        (429, "maximum context length", .rateLimited, .rateLimited, true),
    ])
    func httpStatus(
        status: Int,
        body: String,
        reason: ProviderErrorReason,
        errorClass: ProviderErrorClass,
        fallsBack: Bool
    ) {
        let got = ErrorClassifier.reason(httpStatus: status, body: body)
        #expect(got == reason, "HTTP \(status)")
        #expect(got.errorClass == errorClass, "HTTP \(status)")
        #expect(got.fallsBack == fallsBack, "HTTP \(status)")
    }

    @Test(arguments: [
        (Int32(1), ProviderErrorReason.exitStatus, ProviderErrorClass.transient),
        (2, .exitStatus, .transient),
        (64, .badRequest, .permanent),
        (65, .badRequest, .permanent),
        (69, .rateLimited, .rateLimited),
        (75, .exitStatus, .transient),
        (77, .authentication, .permanent),
        (78, .badRequest, .permanent),
        (126, .unavailable, .permanent),
        (127, .unavailable, .permanent),
    ])
    func exitCode(code: Int32, reason: ProviderErrorReason, errorClass: ProviderErrorClass) {
        #expect(ErrorClassifier.reason(exitCode: code) == reason, "exit \(code)")
        #expect(ErrorClassifier.reason(exitCode: code).errorClass == errorClass, "exit \(code)")
    }

    @Test(arguments: [
        ("Claude AI usage limit reached|1767225600", ProviderErrorReason.rateLimited),
        ("API Error: 429 rate_limit_error", .rateLimited),
        ("Invalid API key · Please run /login", .authentication),
        ("model: claude-nope not found", .unknownModel),
        ("API Error: 400 prompt is too long: 215344 tokens > 200000 maximum", .contextExceeded),
        ("something else broke", .providerError),
    ])
    func cliText(text: String, reason: ProviderErrorReason) {
        #expect(ErrorClassifier.reason(cliErrorText: text) == reason, "\(text)")
    }

    @Test func onlyRateLimitsLoginsModelsAndContextWindowsFallBack() {
        let falling = ProviderErrorReason.allCases.filter(\.fallsBack)
        #expect(Set(falling) == [.rateLimited, .authentication, .unknownModel, .contextExceeded])
        // Never retried as transient: the same prompt fails the same way.
        #expect(ProviderErrorReason.contextExceeded.errorClass == .permanent)
    }

    @Test func theNewFieldsEncodeOnlyWhenSet() throws {
        let plain = AgentResult(error: .transient, message: "x")
        #expect(plain.json["errorReason"] == nil && plain.json["retryAfterMs"] == nil)
        let fine = AgentResult(error: .rateLimited, message: "x", reason: "rate_limited", retryAfterMs: 7_000)
        let decoded = try #require(AgentResult(json: fine.json))
        #expect(decoded.errorReason == "rate_limited" && decoded.retryAfterMs == 7_000)
    }
}
