-- Safety floor of the final gate: the latest diff is empty (nothing to approve
-- automatically; a person says whether "no change" is the right answer).
SELECT o.iteration
FROM step_outputs o
WHERE o.task_id = :task AND o.step = 'diff'
  AND o.tick = (SELECT max(p.tick) FROM step_outputs p WHERE p.task_id = :task AND p.step = 'diff')
  AND json_extract(o.output, '$.details.empty') = 1
