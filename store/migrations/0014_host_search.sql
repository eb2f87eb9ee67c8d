-- 0014: the hosts page of the console (issue 16) searches by the start of a
-- host name or alias. host_names' primary key serves equality; LIKE 'web%'
-- needs an index in the pattern operator class, which works whatever the
-- database's collation.
CREATE INDEX host_names_name_pattern_idx ON host_names (name text_pattern_ops);
