import LoomConfiguration
import LoomEngine

/// Prices per million tokens, in US dollars, for providers whose API does not report a
/// cost: a JSON file the user edits (`prices.json` in loomd's state directory).
///
/// ```json
/// {"version": 1, "prices": {
///   "anthropic:claude-sonnet-4-5": {"input": 3.0, "output": 15.0, "cachedInput": 0.3},
///   "gpt-4o-mini": {"input": 0.15, "output": 0.6}}}
/// ```
///
/// A spawn's model is looked up as `provider:model` first, then as `model`. One dollar
/// per million tokens is one micro-dollar per token, so the cost in micro-dollars is
/// `in × input + out × output + cached × cachedInput`, rounded once at the end.
public struct PriceTable: Sendable, Equatable {
    public static let fileName = "prices.json"
    public static let entriesMax = 4_096

    public struct Price: Sendable, Equatable {
        public var inputPerMillionUSD: Double
        public var outputPerMillionUSD: Double
        /// Input read from a prompt cache; the input price when not given.
        public var cachedInputPerMillionUSD: Double?

        public init(inputPerMillionUSD: Double, outputPerMillionUSD: Double, cachedInputPerMillionUSD: Double? = nil) {
            self.inputPerMillionUSD = inputPerMillionUSD
            self.outputPerMillionUSD = outputPerMillionUSD
            self.cachedInputPerMillionUSD = cachedInputPerMillionUSD
        }
    }

    public var prices: [String: Price]

    public init(prices: [String: Price] = [:]) {
        self.prices = prices
    }

    /// The cost in micro-dollars, or nil when the model has no price.
    public func costMicroUSD(provider: String, model: String, tokensIn: Int, tokensOut: Int, tokensCached: Int) -> Int?
    {
        guard let price = prices["\(provider):\(model)"] ?? prices[model] else { return nil }
        let micro =
            Double(tokensIn) * price.inputPerMillionUSD + Double(tokensOut) * price.outputPerMillionUSD
            + Double(tokensCached) * (price.cachedInputPerMillionUSD ?? price.inputPerMillionUSD)
        return Int(micro.rounded())
    }

    /// The cost of `result`'s own tokens at its provider's and model's price; 0 when the table
    /// has no price for them.
    public func costMicroUSD(of result: AgentResult) -> Int {
        costMicroUSD(
            provider: result.provider,
            model: result.model,
            tokensIn: result.tokensIn,
            tokensOut: result.tokensOut,
            tokensCached: result.tokensCached
        ) ?? 0
    }

    /// A dollar amount an API reported, in micro-dollars.
    public static func microUSD(dollars: Double) -> Int {
        guard dollars.isFinite, dollars >= 0 else { return 0 }
        return Int((dollars * 1_000_000).rounded())
    }

    /// The table in `stateDirectory`; empty when there is no file.
    public static func load(stateDirectory: String) throws(ProviderConfigurationError) -> PriceTable {
        try load(path: "\(stateDirectory)/\(fileName)")
    }

    public static func load(path: String) throws(ProviderConfigurationError) -> PriceTable {
        guard let text = try ConfigurationFile.read(path) else { return PriceTable() }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(ProviderConfigurationError) -> PriceTable {
        let object = try ConfigurationFile.parseObject(text, path: path)
        guard let entries = object["prices"]?.objectValue else {
            throw ProviderConfigurationError(
                .invalidValue,
                "\(path) has no \"prices\" object",
                context: "loading prices"
            )
        }
        guard entries.count <= entriesMax else {
            throw ProviderConfigurationError(
                .tooLarge,
                "\(path) has \(entries.count) prices; at most \(entriesMax)",
                context: "loading prices"
            )
        }
        var prices: [String: Price] = [:]
        for (model, entry) in entries {
            func amount(_ key: String, required: Bool) throws(ProviderConfigurationError) -> Double? {
                guard let value = entry[key] else {
                    if required {
                        throw ProviderConfigurationError(
                            .invalidValue,
                            "\(path): \(model) has no \"\(key)\" price",
                            context: "loading prices"
                        )
                    }
                    return nil
                }
                guard let number = value.doubleValue, number.isFinite, number >= 0 else {
                    throw ProviderConfigurationError(
                        .invalidValue,
                        "\(path): \(model).\(key) must be a non-negative number of dollars per million tokens",
                        context: "loading prices"
                    )
                }
                return number
            }
            prices[model] = Price(
                inputPerMillionUSD: try amount("input", required: true)!,
                outputPerMillionUSD: try amount("output", required: true)!,
                cachedInputPerMillionUSD: try amount("cachedInput", required: false)
            )
        }
        return PriceTable(prices: prices)
    }
}
