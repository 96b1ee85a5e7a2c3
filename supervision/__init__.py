"""Read models for supervisors and operators: the supervision desk (overdue and warned cases,
pressing 督办, trends) and the gauges ``GET /metrics`` serves. They read what the engine wrote;
the engine never imports them."""
