/* Any open finding about a factual claim means a person signs off at the
   legal gate, whatever the gate's policy says. */
SELECT id
FROM findings
WHERE task_id = :task
  AND status = 'open'
  AND json_extract(details, '$.category') = 'claim'
