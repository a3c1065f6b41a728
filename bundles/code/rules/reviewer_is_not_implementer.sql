-- A reviewer (or the adjudicator) is never the identity that wrote the implementation:
-- an agent host delivering both as the same principal would be reviewing its own work.
SELECT r.step || ':' || r.unit
FROM step_outputs r JOIN step_outputs i ON i.task_id = r.task_id AND i.step = 'implement'
WHERE r.task_id = :task AND r.step IN ('review', 'adjudicate') AND r.author = i.author
