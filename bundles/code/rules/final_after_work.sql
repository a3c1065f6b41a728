-- The final gate is approved only after the implementation ran (a valid implementer
-- output) and, in flows that review, after a review ran.
SELECT g.event_id
FROM gates g JOIN tasks t ON t.id = g.task_id
WHERE g.task_id = :task AND g.role = 'final' AND g.status = 'approved'
  AND (NOT EXISTS (SELECT 1 FROM step_outputs o WHERE o.task_id = g.task_id AND o.step = 'implement' AND o.valid = 1)
       OR (t.flow IN ('simple', 'medium')
           AND NOT EXISTS (SELECT 1 FROM step_outputs o WHERE o.task_id = g.task_id AND o.step = 'review' AND o.valid = 1)))
