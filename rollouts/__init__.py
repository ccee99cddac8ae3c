"""The actions and reads people use, shared by the API, the web pages and the CLI: completing
tasks, stage and cohort decisions, operating initiatives, where a site or an initiative stands,
and the sentences a refusal is told in."""
