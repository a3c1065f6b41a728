-- Safety floor of the ship gate: always a row, so a person answers it under every policy.
-- The kernel then refuses any answer from a principal that is not human.
SELECT id FROM tasks WHERE id = :task
