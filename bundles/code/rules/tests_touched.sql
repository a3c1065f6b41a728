-- Safety floor of the final gate: some diff of this task touched a test file (the globs
-- come from .loom/config or the defaults). An agent that edits the tests can make any
-- implementation pass, so a person decides even under full autonomy. Any round counts,
-- not just the last: reverting a test edit is still worth a person's look.
SELECT o.iteration
FROM step_outputs o
WHERE o.task_id = :task AND o.step = 'diff'
  AND json_array_length(o.output, '$.details.testFiles') > 0
