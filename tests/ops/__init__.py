"""Operations: logging, metrics, health, doctor, Dockerfile, README."""
