-- Safety floor of the final gate: the latest run of the project's checks (either checks
-- step) did not end ok or skipped. A person decides, whatever the policy.
SELECT o.step
FROM step_outputs o
WHERE o.task_id = :task AND o.step IN ('checks', 'final_checks')
  AND o.tick = (SELECT max(p.tick) FROM step_outputs p WHERE p.task_id = :task AND p.step IN ('checks', 'final_checks'))
  AND json_extract(o.output, '$.status') NOT IN ('ok', 'skipped')
