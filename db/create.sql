-- Databases of the three environments (run once by the postgres image's
-- /docker-entrypoint-initdb.d, or by scripts/pg.sh for local runs).
CREATE DATABASE users_prod;
CREATE DATABASE users_dev;
CREATE DATABASE users_test;
