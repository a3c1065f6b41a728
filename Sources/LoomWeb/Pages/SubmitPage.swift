/// `/submit`: a new task for a project (the project is registered with loomd on first use).
public enum SubmitPage {
    public static func render(
        csrfToken: String,
        projects: [String],
        bundles: [String],
        problem: String? = nil
    ) -> String {
        var body = "<h1>Submit a task</h1>"
        if let problem { body += "<p class=\"problem\">\(HTML.escape(problem))</p>" }
        body += "<form method=\"post\" action=\"/submit\" id=\"submit-form\">" + Layout.csrfField(csrfToken)
        body +=
            "<p><label>project (an absolute path)<br><input name=\"project\" id=\"project\" size=\"70\" list=\"projects\" required></label></p><datalist id=\"projects\">"
        for project in projects { body += "<option value=\"\(HTML.escape(project))\">" }
        body +=
            "</datalist><p><label>bundle <select name=\"bundle\" id=\"bundle\"><option value=\"\">(loomd's default)</option>"
        for bundle in bundles { body += "<option value=\"\(HTML.escape(bundle))\">\(HTML.escape(bundle))</option>" }
        body +=
            "</select></label> <label>policy <input name=\"policy\" id=\"policy\" placeholder=\"(the bundle's default)\"></label></p>"
        body +=
            "<p><label>what to do<br><textarea name=\"input\" id=\"input\" rows=\"6\" required></textarea></label></p>"
        body += "<button id=\"submit-button\">Submit</button></form>"
        return Layout.page("submit", body: body)
    }
}
