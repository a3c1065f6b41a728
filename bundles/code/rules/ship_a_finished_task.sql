-- A ship task names a task of this project that ended done (its branch is the result).
SELECT s.id
FROM tasks s
WHERE s.id = :task AND s.flow = 'ship'
  AND NOT EXISTS (SELECT 1 FROM tasks t
                  WHERE t.id = CASE WHEN json_valid(s.input) THEN json_extract(s.input, '$.task') END AND t.status = 'done' AND t.flow <> 'ship')
