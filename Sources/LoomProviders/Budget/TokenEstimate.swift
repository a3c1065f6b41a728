/// Token counts loom works out itself, from the text's UTF-8 size: no tokenizer is bundled
/// (each model has its own, and the kernel must not depend on one).
///
/// Two rules, for two purposes:
/// - **Fitting** counts one token per **3** bytes, rounded up. BPE tokenizers average about
///   3.5 to 4.5 bytes a token on English and code, so this over-counts: a prompt fitted by it
///   is not refused by the server for being a few hundred tokens over.
/// - **Accounting** (a server that reported no usage) counts one token per **4** bytes, the
///   typical figure, and the result says the count is an estimate (`usage.estimated`).
public enum TokenEstimate {
    public static let fittingBytesPerToken = 3
    public static let usageBytesPerToken = 4

    /// The tokens `bytes` of prompt are taken to need when fitting (rounded up).
    public static func fitting(bytes: Int) -> Int { (max(0, bytes) + fittingBytesPerToken - 1) / fittingBytesPerToken }

    /// The bytes of prompt `tokens` make room for when fitting.
    public static func fittingBytes(tokens: Int) -> Int { max(0, tokens) * fittingBytesPerToken }

    /// A usage estimate for `text` a server did not count (rounded up, so a non-empty text is never 0).
    public static func usage(_ text: String) -> Int { (text.utf8.count + usageBytesPerToken - 1) / usageBytesPerToken }

    /// How the estimates are made, as the journal records it.
    public static let fittingRule = "utf8 bytes / \(fittingBytesPerToken), rounded up"
}
