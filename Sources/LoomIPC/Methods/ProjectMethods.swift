/// `projects.list`: the supervised projects, whether each is open, and any quarantine.
public enum ProjectsList: IPCMethod {
    public static let name = "projects.list"
    public typealias Params = NoParams
    public typealias Result = Document
}

/// `projects.add`: supervise a project (an existing directory).
public enum ProjectsAdd: IPCMethod {
    public static let name = "projects.add"
    public typealias Params = ProjectParams
    public typealias Result = ProjectChange<ProjectAdded>
}

/// `projects.remove`: stop supervising a project (its `.loom` stays).
public enum ProjectsRemove: IPCMethod {
    public static let name = "projects.remove"
    public typealias Params = ProjectParams
    public typealias Result = ProjectChange<ProjectRemoved>
}

/// `projects.clear-quarantine`: an approver lets loomd drive a quarantined project again.
public enum ProjectsClearQuarantine: IPCMethod {
    public static let name = "projects.clear-quarantine"
    public typealias Params = ProjectParams
    public typealias Result = ProjectChange<QuarantineCleared>
}
