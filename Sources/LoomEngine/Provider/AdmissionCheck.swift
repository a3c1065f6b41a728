/// A check the host runs on a submission before acknowledging it, named by a bundle's
/// `admission` list: cheap, writing nothing, so a submission that cannot work is refused
/// at once with a reason, instead of being taken and failing later with the project
/// already registered and its `.loom` written.
public protocol AdmissionCheck: Sendable {
    /// nil when the project can take a task of this bundle; else why not, in words a
    /// person can act on.
    func refusal(projectDirectory: String) -> String?
}
