-- Nothing is shipped (the ship step's result recorded) unless a human principal approved
-- the ship gate: no agent, no policy, no process descended from an agent.
SELECT o.unit
FROM step_outputs o
WHERE o.task_id = :task AND o.step = 'ship'
  AND NOT EXISTS (SELECT 1 FROM gates g WHERE g.task_id = o.task_id AND g.role = 'ship'
                    AND g.status = 'approved' AND json_extract(g.decided_by, '$.kind') = 'human')
