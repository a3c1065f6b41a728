/// `gates`: every gate that waits for a person, across the supervised projects, with its card.
public enum Gates: IPCMethod {
    public static let name = "gates"
    public typealias Params = NoParams
    public typealias Result = Document
}
